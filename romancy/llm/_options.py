"""The options of a model request, their checks, and the per-App defaults.

Options are checked when a call is made, in workflow code, before any step is taken, so a
wrong value fails with an :class:`~romancy.InvalidValueError` naming it. Defaults set
with :func:`set_app_defaults` live here, keyed by the App (or AppConfig) object itself;
the App knows nothing of them.
"""

from __future__ import annotations

import dataclasses
import math
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from romancy.errors import InvalidValueError
from romancy.limits import check_name, check_text


class CallOptions(TypedDict, total=False):
    """The keyword options every call accepts (Go's ``With…`` options)."""

    model: Any  #: ``"provider:name"``, a bare name with ``provider=``, or a pydantic-ai Model
    provider: str
    base_url: str  #: an OpenAI-compatible endpoint (Ollama, vLLM, LM Studio…)
    api_key: str
    temperature: float
    max_tokens: int
    top_p: float
    top_k: int
    seed: int
    system: str
    stop: Sequence[str]


@dataclass(frozen=True)
class LLMOptions:
    """Resolved options of one model request (``None``: not set, the provider decides)."""

    model: Any = None
    provider: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    system: str | None = None
    stop: tuple[str, ...] | None = None

    def merged(self, options: Mapping[str, Any]) -> LLMOptions:
        """These options with the set values of ``options`` (checked) taking precedence."""
        checked = check_options(options)
        return dataclasses.replace(self, **{k: v for k, v in checked.items() if v is not None})

    def __repr__(self) -> str:  # never show the key
        shown = {
            f.name: ("***" if f.name == "api_key" else getattr(self, f.name))
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }
        return f"LLMOptions({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


_NAMES = frozenset(f.name for f in dataclasses.fields(LLMOptions))


def check_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with each value checked (and ``stop`` as a tuple); unknown names fail."""
    unknown = sorted(set(options) - _NAMES)
    if unknown:
        raise InvalidValueError(
            f"unknown LLM option {', '.join(map(repr, unknown))}; the options are "
            f"{', '.join(sorted(_NAMES))}"
        )
    checked: dict[str, Any] = {}
    for name, value in options.items():
        if value is not None:
            checked[name] = _CHECKS[name](value, f"LLM option {name}")
    return checked


def _model(value: Any, what: str) -> Any:
    if isinstance(value, str):
        return check_name(value, what)
    if type(value).__module__.startswith("pydantic_ai."):  # a Model instance
        return value
    raise InvalidValueError(
        f"{what} must be a model name such as 'openai:gpt-4o' or a pydantic-ai Model, "
        f"not {type(value).__name__}"
    )


def _url(value: Any, what: str) -> str:
    text = check_name(value, what, max_chars=2048)
    if not text.startswith(("http://", "https://")):
        raise InvalidValueError(f"{what} must be an http:// or https:// URL, got {text!r}")
    return text


def _number(low: float, high: float) -> Any:
    def check(value: Any, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValueError(f"{what} must be a number, not {type(value).__name__}")
        if not (math.isfinite(value) and low <= value <= high):
            raise InvalidValueError(f"{what} must be from {low:g} to {high:g}, got {value!r}")
        return float(value)

    return check


def _integer(low: int) -> Any:
    def check(value: Any, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidValueError(f"{what} must be an integer of at least {low}, got {value!r}")
        return value

    return check


def _text(value: Any, what: str) -> str:
    return check_text(value, what, max_bytes=None)


def _stop(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidValueError(f"{what} must be a list of strings, not {type(value).__name__}")
    return tuple(check_name(item, f"{what}[{n}]") for n, item in enumerate(value))


_CHECKS: dict[str, Any] = {
    "model": _model,
    "provider": check_name,
    "base_url": _url,
    "api_key": lambda value, what: check_name(value, what, max_chars=4096),
    "temperature": _number(0.0, 2.0),
    "max_tokens": _integer(1),
    "top_p": _number(0.0, 1.0),
    "top_k": _integer(1),
    "seed": _integer(-(2**63)),
    "system": _text,
    "stop": _stop,
}

#: Defaults by the identity of an App or AppConfig; entries go with their object.
_DEFAULTS: dict[int, tuple[weakref.ref[Any], LLMOptions]] = {}


def set_app_defaults(app: Any, **options: Any) -> None:
    """Defaults for every LLM call of workflows that ``app`` (an App or its AppConfig)
    runs; a call's own options win. Replaces earlier defaults of ``app`` (Go's
    ``SetAppDefaults``)."""
    defaults = LLMOptions().merged(options)
    key = id(app)
    _DEFAULTS[key] = (weakref.ref(app, lambda _: _DEFAULTS.pop(key, None)), defaults)


def clear_app_defaults(app: Any) -> None:
    """Forget the defaults of ``app`` (Go's ``ClearAppDefaults``)."""
    _DEFAULTS.pop(id(app), None)


def get_app_defaults(app: Any) -> LLMOptions:
    """The defaults of ``app``: its own, else its config's, else none set (Go's
    ``GetLLMDefaults``)."""
    for target in (app, getattr(app, "config", None)):
        entry = _DEFAULTS.get(id(target)) if target is not None else None
        if entry is not None and entry[0]() is target:
            return entry[1]
    return LLMOptions()
