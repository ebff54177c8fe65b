"""JSON Schemas for tool arguments, derived from a workflow's typed input.

The schema describes exactly what :func:`romancy.serialization.from_json` turns into the
declared type (dataclasses, pydantic models, ``TypedDict``, enums, times, containers and
``Optional``/``Union``/``Literal``), so a client that follows it never sees a decoding
error. A dataclass, pydantic model or ``TypedDict`` input *is* the tool's argument
object; any other input travels as the one argument ``input``.
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
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import jsonschema
from pydantic import BaseModel

from romancy.errors import InvalidValueError
from romancy.limits import NAME_MAX_CHARS
from romancy.serialization import from_json
from romancy.workflow import Workflow

#: The argument holding a workflow input that is not itself an object.
INPUT_ARGUMENT = "input"

#: An instance id argument: what ``check_name`` accepts, as far as JSON Schema can say.
INSTANCE_ID_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": NAME_MAX_CHARS,
    "description": "the instance id the start tool returned",
}

_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    dt.datetime: {"type": "string", "format": "date-time"},
    dt.date: {"type": "string", "format": "date"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    Decimal: {"type": ["number", "string"]},
}


def object_schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """A closed object: these properties, these required, nothing else."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def is_object_type(hint: Any) -> bool:
    """Whether values of ``hint`` are JSON objects with named fields (they become the
    tool's arguments themselves)."""
    return isinstance(hint, type) and (
        dataclasses.is_dataclass(hint) or typing.is_typeddict(hint) or issubclass(hint, BaseModel)
    )


class _Builder:
    """One schema under construction: named types go to ``$defs`` (so recursive ones work)."""

    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}
        self._names: dict[Any, str] = {}

    def schema(self, hint: Any) -> dict[str, Any]:
        if hint in (None, Any, object, inspect.Parameter.empty) or isinstance(hint, typing.TypeVar):
            return {}
        if hint in _SCALARS:
            return dict(_SCALARS[hint])
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin is typing.Annotated:
            return self.schema(args[0])
        if origin in (typing.Union, types.UnionType):
            return {"anyOf": [self.schema(arg) for arg in args]}
        if origin is typing.Literal:
            return {"enum": list(args)}
        if origin in (list, set, frozenset, tuple) or hint in (list, set, frozenset, tuple):
            return self._array(origin or hint, args)
        if origin in (dict, Mapping) or hint in (dict, Mapping):
            values = self.schema(args[1]) if len(args) == 2 else {}
            return {"type": "object", "additionalProperties": values}
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return {"enum": [member.value for member in hint]}
        if is_object_type(hint):
            return {"$ref": f"#/$defs/{self.define(hint)}"}
        return {}  # a type JSON cannot describe: any value, from_json has the last word

    def _array(self, container: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array"}
        if container is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            schema["prefixItems"] = [self.schema(arg) for arg in args]
            schema["minItems"] = schema["maxItems"] = len(args)
        elif args:
            schema["items"] = self.schema(args[0])
        return schema

    def define(self, cls: type) -> str:
        if cls in self._names:
            return self._names[cls]
        name = cls.__name__
        while name in self.defs:  # two classes of one name from different modules
            name += "_"
        self._names[cls] = name
        self.defs[name] = {}  # reserved first: a recursive reference finds it
        self.defs[name] = self._body(cls)
        return name

    def _body(self, cls: type) -> dict[str, Any]:
        if issubclass(cls, BaseModel):
            schema = cls.model_json_schema(ref_template="#/$defs/{model}")
            self.defs.update(schema.pop("$defs", {}))
            return schema
        hints = typing.get_type_hints(cls)
        if typing.is_typeddict(cls):
            fields = {key: self.schema(hints.get(key)) for key in hints}
            return object_schema(fields, sorted(cls.__required_keys__))  # type: ignore[attr-defined]
        properties, required = {}, []
        for item in dataclasses.fields(cls):  # type: ignore[arg-type]
            if not item.init:
                continue
            properties[item.name] = self.schema(hints.get(item.name))
            if item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING:
                required.append(item.name)
        return object_schema(properties, required)


def _accepts_null(schema: dict[str, Any]) -> bool:
    return (
        not schema
        or schema.get("type") == "null"
        or any(map(_accepts_null, schema.get("anyOf", [])))
    )


def input_schema(workflow: Workflow[Any, Any]) -> dict[str, Any]:
    """The start tool's argument schema for ``workflow``."""
    if not workflow.takes_input:
        return object_schema({}, [])
    builder = _Builder()
    hint = workflow.input_hint
    if is_object_type(hint):
        name = builder.define(hint)
        root: dict[str, Any] = builder.defs[name]
        if f'"#/$defs/{name}"' not in json.dumps(builder.defs):
            del builder.defs[name]  # not recursive: the root is its only use
    else:
        value = builder.schema(hint)
        required = [] if _accepts_null(value) else [INPUT_ARGUMENT]
        value.setdefault("description", f"the input of workflow {workflow.name}")
        root = object_schema({INPUT_ARGUMENT: value}, required)
    if builder.defs:
        root["$defs"] = builder.defs
    return root


class Arguments:
    """Checks a tool's arguments against its schema before anything is stored."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._validator = jsonschema.Draft202012Validator(schema)

    def check(self, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        """The arguments, or :class:`InvalidValueError` naming the first thing wrong."""
        given = dict(arguments or {})
        error = jsonschema.exceptions.best_match(self._validator.iter_errors(given))
        if error is not None:
            where = ".".join(str(part) for part in error.absolute_path)
            raise InvalidValueError(
                f"argument {where!r}: {error.message}" if where else f"arguments: {error.message}"
            )
        return given


def workflow_input(workflow: Workflow[Any, Any], arguments: dict[str, Any]) -> Any:
    """The typed input for ``workflow`` from checked start-tool arguments."""
    if not workflow.takes_input:
        return None
    hint = workflow.input_hint
    data = arguments if is_object_type(hint) else arguments.get(INPUT_ARGUMENT)
    try:
        return from_json(data, hint, what=f"input of workflow {workflow.name!r}")
    except (TypeError, ValueError) as error:  # SerializationError is a TypeError
        raise InvalidValueError(str(error)) from None
