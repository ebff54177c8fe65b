"""The input-filter and instance-id conditions of an instance search (docs/storage.md,
"Searching instances"): what a filter may hold, and the SQL that matches it."""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from functools import reduce
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func

from romancy.errors import InvalidValueError
from romancy.storage.dialects.json_text import INT_MAX, INT_MIN
from romancy.storage.tables import workflow_instances

if TYPE_CHECKING:
    from romancy.storage.dialects import Dialect
    from romancy.storage.records import InstanceQuery

_ASCII_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def filter_keys(path: str) -> list[str]:
    """The object keys a filter path walks: every dot separates two keys."""
    return path.split(".")


def check_input_filters(filters: Mapping[str, Any]) -> None:
    """Refuse, naming the filter, a path or value no backend can match alike."""
    for path, value in filters.items():
        where = f"input filter {path!r}"
        if not isinstance(path, str) or any(not key for key in filter_keys(path)):
            raise InvalidValueError(f"{where}: the path has an empty key")
        if "\x00" in path or (isinstance(value, str) and "\x00" in value):
            raise InvalidValueError(f"{where}: NUL characters cannot be searched for")
        if isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        if isinstance(value, int):
            if not INT_MIN <= value <= INT_MAX:
                raise InvalidValueError(f"{where}: integers must fit in 64-bit signed range")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidValueError(f"{where}: numbers must be finite")
        else:
            raise InvalidValueError(
                f"{where}: only strings, numbers, booleans and None match exactly, "
                f"not {type(value).__name__}"
            )


def check_id_fragment(fragment: str | None) -> None:
    """Refuse an ``instance_id_contains`` no id can hold."""
    if fragment is not None and "\x00" in fragment:
        raise InvalidValueError("instance_id_contains: ids never contain NUL characters")


def search_conditions(dialect: Dialect, query: InstanceQuery) -> list[ColumnElement[bool]]:
    """The conditions for ``query``'s instance-id fragment and input filters."""
    c = workflow_instances.c
    conditions = []
    if query.instance_id_contains:
        folded = _ascii_lower(c.instance_id)
        needle = query.instance_id_contains.translate(_ASCII_FOLD)
        conditions.append(dialect.contains_literal(folded, needle))
    for path, value in query.input_filters.items():
        conditions.append(dialect.json_match(c.input_data, filter_keys(path), value))
    return conditions


def _ascii_lower(column: ColumnElement[Any]) -> ColumnElement[Any]:
    # lower() folds only ASCII on SQLite but every script on PostgreSQL and MariaDB;
    # replace() is case-sensitive on all three, so this folds exactly A-Z everywhere.
    return reduce(
        lambda text, letter: func.replace(text, letter, letter.lower()),
        string.ascii_uppercase,
        column,
    )
