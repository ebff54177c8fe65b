"""The input-filter and instance-id conditions of an instance search (docs/storage.md,
"Searching instances"): the SQL that matches them (what they may hold: ``filters``)."""

from __future__ import annotations

import string
from functools import reduce
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func

from romancy.storage.filters import filter_keys
from romancy.storage.tables import workflow_instances

if TYPE_CHECKING:
    from romancy.storage.dialects import Dialect
    from romancy.storage.records import InstanceQuery

_ASCII_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


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
