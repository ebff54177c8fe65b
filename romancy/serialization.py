"""Typed values to JSON and back.

Workflow inputs and outputs, activity arguments and results travel through the database
as JSON text. :func:`to_json` turns a Python value into JSON-compatible data;
:func:`from_json` turns such data back into the type a signature asks for.

Supported: ``None``, ``bool``, ``int``, ``float``, ``str``; ``list``/``tuple``/``set``;
``dict`` with string keys; dataclasses; pydantic models (when pydantic is installed);
``TypedDict``; ``Enum``; ``datetime`` (RFC 3339 in UTC, ``Z`` suffix), ``date``,
``UUID``, ``Decimal``; and ``Optional``/``Union``/``Literal``/``Any`` annotations.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import inspect
import json
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from romancy.errors import SerializationError

try:  # pydantic is optional
    import pydantic
except ImportError:  # pragma: no cover - exercised only without pydantic
    pydantic = None  # type: ignore[assignment]


def to_json(value: Any, *, what: str = "value") -> Any:
    """JSON-compatible data for ``value``; :class:`SerializationError` names what failed.

    ``what`` says where the value comes from (e.g. ``"input of workflow 'orders'"``).
    """
    return _encode(value, what, "$")


def dumps(value: Any, *, what: str = "value") -> str:
    """``value`` as compact JSON text, keys in their own order, non-ASCII as ``\\u`` escapes.

    ASCII-only text survives a column of any character set: the shared schema names
    none, and MySQL/MariaDB databases created with a Latin-1 default refuse other text.
    """
    return json.dumps(to_json(value, what=what), separators=(",", ":"))


def loads(text: str | None) -> Any:
    """Parse JSON text; ``None`` and empty text are ``None`` (a column some runtime left
    empty holds no value)."""
    return json.loads(text) if text else None


def _encode(value: Any, what: str, path: str) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _unencodable(value, what, path, "NaN and infinity have no JSON form")
        return value
    if isinstance(value, enum.Enum):
        return _encode(value.value, what, path)
    if isinstance(value, dt.datetime):
        return format_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if pydantic is not None and isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _encode(getattr(value, f.name), what, f"{path}.{f.name}")
            for f in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _unencodable(value, what, path, f"dict key {key!r} is not a string")
            out[key] = _encode(item, what, f"{path}.{key}")
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [_encode(item, what, f"{path}[{n}]") for n, item in enumerate(value)]
    raise _unencodable(value, what, path, f"{type(value).__qualname__} is not JSON-serialisable")


def _unencodable(value: Any, what: str, path: str, reason: str) -> SerializationError:
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    where = "" if path == "$" else f" at {path}"
    return SerializationError(f"cannot store the {what}{where}: {shown}: {reason}")


def as_utc(value: dt.datetime) -> dt.datetime:
    """``value`` as an aware UTC datetime (a naive value is taken as UTC already)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def ceil_second(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC, rounded up to a whole second: stored times keep whole seconds
    (SQLite's shared layout), and a deadline rounded down would come due early."""
    moment = as_utc(moment)
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + dt.timedelta(seconds=1)


def format_time(value: dt.datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix (naive values are taken as UTC)."""
    return as_utc(value).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> dt.datetime:
    """An aware UTC datetime from RFC 3339 / ISO 8601 text (naive text is taken as UTC)."""
    return as_utc(dt.datetime.fromisoformat(text.strip()))


def from_json(data: Any, hint: Any, *, what: str = "value") -> Any:
    """Rebuild a value of type ``hint`` from JSON data (no hint: the data as it is)."""
    try:
        return _decode(data, hint)
    except SerializationError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise SerializationError(f"cannot read the {what} as {_name(hint)}: {exc}") from None


def _decode(data: Any, hint: Any) -> Any:
    if (
        hint is None
        or hint is Any
        or hint is inspect.Parameter.empty
        or isinstance(hint, typing.TypeVar)
    ):
        return data
    if hint is type(None):
        return None
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _decode(data, typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        return _decode_union(data, typing.get_args(hint))
    if origin is typing.Literal:
        if data not in typing.get_args(hint):
            raise ValueError(f"{data!r} is not one of {typing.get_args(hint)}")
        return data
    if origin in (list, set, frozenset, tuple) or hint in (list, set, frozenset, tuple):
        return _decode_sequence(data, hint, origin or hint)
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        args = typing.get_args(hint)
        value_hint = args[1] if len(args) == 2 else Any
        return {key: _decode(item, value_hint) for key, item in _expect(data, dict).items()}
    if isinstance(hint, type):
        return _decode_class(data, hint)
    return data


def _decode_union(data: Any, options: tuple[Any, ...]) -> Any:
    if data is None and type(None) in options:
        return None
    errors = []
    for option in options:
        if option is type(None):
            continue
        try:
            return _decode(data, option)
        except (TypeError, ValueError, KeyError, SerializationError) as exc:
            errors.append(str(exc))
    raise ValueError("; ".join(errors) or f"{data!r} matches no option")


def _decode_sequence(data: Any, hint: Any, container: Any) -> Any:
    items = _expect(data, list)
    args = typing.get_args(hint)
    if container is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(item, args[0]) for item in items)
        if args:
            return tuple(_decode(item, arg) for item, arg in zip(items, args, strict=True))
        return tuple(items)
    element = args[0] if args else Any
    decoded = [_decode(item, element) for item in items]
    return decoded if container is list else container(decoded)


_SCALARS: dict[type, Callable[[Any], Any]] = {
    dt.datetime: lambda v: parse_time(_expect(v, str)),
    dt.date: lambda v: dt.date.fromisoformat(_expect(v, str)),
    uuid.UUID: lambda v: uuid.UUID(_expect(v, str)),
    Decimal: lambda v: Decimal(str(v)),
}


def _decode_class(data: Any, cls: type) -> Any:
    if cls in _SCALARS:
        return _SCALARS[cls](data)
    if issubclass(cls, enum.Enum):
        return cls(data)
    if cls is bool:
        return _expect(data, bool)
    if cls is float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise TypeError(f"expected a number, got {data!r}")
        return float(data)
    if cls in (int, str):
        if isinstance(data, bool) or not isinstance(data, cls):
            raise TypeError(f"expected {cls.__name__}, got {data!r}")
        return data
    if pydantic is not None and issubclass(cls, pydantic.BaseModel):
        return cls.model_validate(data)
    if dataclasses.is_dataclass(cls):
        fields = _expect(data, dict)
        hints = typing.get_type_hints(cls)
        kwargs = {
            f.name: _decode(fields[f.name], hints.get(f.name, Any))
            for f in dataclasses.fields(cls)
            if f.init and f.name in fields
        }
        return cls(**kwargs)
    if typing.is_typeddict(cls):
        hints = typing.get_type_hints(cls)
        return {k: _decode(v, hints.get(k, Any)) for k, v in _expect(data, dict).items()}
    if cls is object:
        return data
    return _expect(data, cls)


def _expect(data: Any, kind: type) -> Any:
    if not isinstance(data, kind):
        raise TypeError(f"expected {kind.__name__}, got {data!r}")
    return data


def _name(hint: Any) -> str:
    return getattr(hint, "__qualname__", None) or str(hint)


def type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """``fn``'s resolved annotations (raw ones when a forward reference does not resolve)."""
    try:
        return typing.get_type_hints(fn)
    except Exception:
        return dict(getattr(fn, "__annotations__", {}))
