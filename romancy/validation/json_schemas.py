"""The JSON Schemas of every shape that crosses runtimes, and a validator with readable errors.

The schemas live in ``schema/json/`` of the source tree (draft 2020-12, one file per shape,
``$id`` ``https://romancy.dev/schemas/<name>.json``) and travel inside the wheel as
``romancy/_json_schemas``. Schemas refer to each other by relative ``$ref``; the registry
built here resolves those references offline.

>>> validate("crosstest-output", {"received": True, "message": {"text": "hi"}})
[]
>>> validate("crosstest-output", {"received": "yes"})
['$.received: expected boolean, found string "yes"']
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from romancy.errors import ConfigurationError
from romancy.shipped import shipped_folder

#: The URI every schema's ``$id`` starts with.
SCHEMA_BASE = "https://romancy.dev/schemas/"

#: A location inside a JSON document: object keys and array indexes from the root.
JsonPath = tuple[str | int, ...]

#: ``Violation.found`` of a required property that is absent.
MISSING = "missing"
#: ``Violation.expected`` of a property the schema does not allow.
ABSENT = "absent"


def schemas_dir() -> Path:
    """The folder holding the schema files (inside the wheel, or in a source checkout)."""
    folder = shipped_folder("_json_schemas", "schema/json")
    if folder is None:
        raise ConfigurationError("romancy's JSON Schemas are missing from this installation")
    return folder


def schema_names() -> list[str]:
    """The name of every shipped schema (file name without ``.json``), sorted."""
    return sorted(_all_schemas())


def load_schema(name: str) -> dict[str, Any]:
    """The schema called ``name`` (``"cloudevent"`` or ``"cloudevent.json"``).

    Loaded once per process; the returned dict is shared, so treat it as read-only.
    Raises :class:`~romancy.errors.ConfigurationError` for an unknown name.
    """
    schemas = _all_schemas()
    key = name.removesuffix(".json")
    if key not in schemas:
        raise ConfigurationError(
            f"no JSON Schema named {name!r}; known schemas: {', '.join(sorted(schemas))}"
        )
    return schemas[key]


@dataclass(frozen=True)
class Violation:
    """One way a value breaks a schema: where (a JSON path), what was expected and found."""

    path: JsonPath
    expected: str
    found: str

    @property
    def message(self) -> str:
        """``expected …, found …`` (or ``required property missing``)."""
        if self.found == MISSING:
            return "required property missing" + (
                f" ({self.expected})" if self.expected != "present" else ""
            )
        if self.expected == ABSENT:
            return "unexpected property"
        return f"expected {self.expected}, found {self.found}"

    def location(self, root: str = "$") -> str:
        """The path as ``$.a.b[0]`` (``root`` replaces the ``$``)."""
        return render_path(self.path, root)

    def __str__(self) -> str:
        return f"{self.location()}: {self.message}"


def violations(name: str, value: Any) -> list[Violation]:
    """Every way ``value`` breaks schema ``name``; empty when it is valid.

    Where a value may take one of several layouts (``anyOf``/``oneOf``: romancy's own, or a
    peer's), the violations reported are those of the layout it comes closest to.
    """
    validator = _validator(name.removesuffix(".json"))
    found: list[Violation] = []
    for error in validator.iter_errors(value):
        found += _explain(error)
    unique: dict[tuple[JsonPath, str, str], Violation] = {}
    for item in found:
        unique.setdefault((item.path, item.expected, item.found), item)
    return sorted(unique.values(), key=lambda v: ([str(p) for p in v.path], v.expected))


def validate(name: str, value: Any) -> list[str]:
    """Readable errors (``"$.channel: required property missing"``); empty when valid."""
    return [str(item) for item in violations(name, value)]


def render_path(path: Sequence[str | int], root: str = "$") -> str:
    """A JSON path in the usual dotted form: ``$.metadata.ce_id``, ``$.items[2]``."""
    out = root
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += "[" + json.dumps(part, ensure_ascii=False) + "]"
    return out


def describe_value(value: Any, limit: int = 60) -> str:
    """A short description of a JSON value: its type and (abbreviated) JSON text."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    kind = _json_type(value)
    return kind if kind == "null" else f"{kind} {text}"


# ------------------------------------------------------------------------ internals


@functools.cache
def _all_schemas() -> dict[str, dict[str, Any]]:
    folder = schemas_dir()
    loaded: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")):
        loaded[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def _registry() -> Registry[Any]:
    resources_ = [
        (
            str(schema.get("$id") or SCHEMA_BASE + name + ".json"),
            DRAFT202012.create_resource(schema),
        )
        for name, schema in _all_schemas().items()
    ]
    registry: Registry[Any] = Registry().with_resources(resources_)
    return registry.crawl()


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name), registry=_registry())


def _explain(error: ValidationError) -> list[Violation]:
    """Turn one jsonschema error into violations with paths from the document's root."""
    path: JsonPath = tuple(error.absolute_path)
    kind = error.validator
    value: Any = error.validator_value
    instance: Any = error.instance
    if "propertyNames" in error.relative_schema_path:
        rule = _description(error.schema) or "an allowed property name"
        name = instance if isinstance(instance, str) else str(instance)
        return [Violation((*path, name), rule, f"property name {json.dumps(name)}")]
    if kind in ("anyOf", "oneOf") and error.context:
        return _closest_alternative(error, path)
    if kind == "oneOf":
        return [Violation(path, "exactly one of the alternative layouts", "several match")]
    if kind == "required":
        return [
            Violation((*path, p), "present", MISSING)
            for p in value
            if isinstance(instance, dict) and p not in instance
        ]
    if kind == "dependentRequired":
        return [
            Violation((*path, needed), f"needed because {trigger!r} is present", MISSING)
            for trigger, needs in value.items()
            if isinstance(instance, dict) and trigger in instance
            for needed in needs
            if needed not in instance
        ]
    if kind == "additionalProperties" and value is False and isinstance(instance, dict):
        return [Violation((*path, extra), ABSENT, "present") for extra in _extras(error)]
    if kind == "not" and isinstance(instance, dict) and set(value) <= {"required", "description"}:
        present = " and ".join(k for k in value.get("required", ()) if k in instance)
        return [Violation(path, _expected(error), f"{present} present")]
    return [Violation(path, _expected(error), describe_value(instance))]


def _closest_alternative(error: ValidationError, path: JsonPath) -> list[Violation]:
    """The violations of the alternative the value came closest to.

    Closest: the value has the alternative's JSON type, and breaks the fewest of its rules;
    on a tie, the earlier alternative (romancy's own layout is listed first).
    """
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        index = sub.relative_schema_path[0] if sub.relative_schema_path else 0
        branches.setdefault(int(index), []).append(sub)
    best: tuple[tuple[bool, int], list[Violation]] | None = None
    for index in sorted(branches):
        explained: list[Violation] = []
        for sub in branches[index]:
            explained += _explain(sub)
        wrong_type = any(
            sub.validator == "type" and tuple(sub.absolute_path) == path for sub in branches[index]
        )
        rank = (wrong_type, len(explained))
        if best is None or rank < best[0]:
            best = (rank, explained)
    if best is None or not best[1]:
        return [Violation(path, "one of the alternative layouts", "none matches")]
    return best[1]


def _extras(error: ValidationError) -> Iterator[str]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    declared = schema.get("properties", {})
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    instance: Any = error.instance
    for key in instance:
        if key not in declared and not any(p.search(key) for p in patterns):
            yield key


def _expected(error: ValidationError) -> str:
    kind, value = error.validator, cast(Any, error.validator_value)
    if kind == "type":
        return " or ".join(value) if isinstance(value, list) else str(value)
    if kind == "const":
        return json.dumps(value, ensure_ascii=False)
    if kind == "enum":
        return "one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in value)
    if kind == "pattern":
        return f"text matching {value}"
    if kind == "minLength":
        return f"text of at least {value} character{'s' if value != 1 else ''}"
    if kind == "maxLength":
        return f"text of at most {value} characters"
    if kind == "minimum":
        return f"a number >= {value}"
    if kind == "maximum":
        return f"a number <= {value}"
    if kind == "not":
        return _description(value) or "a value not matching " + json.dumps(value)
    return _description(error.schema) or error.message


def _description(schema: Any) -> str | None:
    if isinstance(schema, dict) and isinstance(schema.get("description"), str):
        return str(schema["description"])
    return None


#: JSON Schema type names of parsed JSON values; ``bool`` before ``int`` (a bool is an int).
_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def _json_type(value: Any) -> str:
    return next(
        (name for kind, name in _JSON_TYPES if isinstance(value, kind)), type(value).__name__
    )
