"""Read a live database's schema into a comparable shape, and diff two shapes.

The shape is plain JSON-able data (so it can be printed, stored and compared across
processes): per table, the ordered columns with type, nullability, default and
auto-increment; the primary key; foreign keys with their ON DELETE action; unique and
CHECK constraints with their names; indexes with names, column order and direction.
``schema_migrations`` is bookkeeping, not schema: dbmate and the peers give its column
different widths, so it is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, inspect
from sqlalchemy.engine.interfaces import (
    ReflectedColumn,
    ReflectedForeignKeyConstraint,
    ReflectedIndex,
)
from sqlalchemy.engine.reflection import Inspector
from sqlalchemy.ext.asyncio import AsyncConnection

from romancy.storage.dialects import Dialect

SchemaShape = dict[str, dict[str, Any]]

_IGNORED_TABLES = {"schema_migrations", "sqlite_sequence"}


@dataclass(frozen=True)
class SchemaDifference:
    """One way a database differs from the expected schema."""

    table: str
    item: str
    expected: str
    found: str

    def __str__(self) -> str:
        return f"{self.table}: {self.item}: expected {self.expected}, found {self.found}"


async def read_schema(conn: AsyncConnection, dialect: Dialect) -> SchemaShape:
    """The shape of every table in the connected database."""
    return await conn.run_sync(lambda sync: _read(sync, dialect))


def _read(conn: Connection, dialect: Dialect) -> SchemaShape:
    inspector = inspect(conn)
    return {
        table: _read_table(conn, inspector, dialect, table)
        for table in sorted(inspector.get_table_names())
        if table not in _IGNORED_TABLES
    }


def _read_table(
    conn: Connection, inspector: Inspector, dialect: Dialect, table: str
) -> dict[str, Any]:
    autoincrement = dialect.autoincrement_columns(conn, table)
    descending = dialect.descending_index_columns(conn, table)
    pk = inspector.get_pk_constraint(table)
    return {
        "columns": [_column(c, autoincrement) for c in inspector.get_columns(table)],
        "primary_key": {"name": pk.get("name"), "columns": pk["constrained_columns"]},
        "foreign_keys": _sorted(_foreign_key(fk) for fk in inspector.get_foreign_keys(table)),
        "unique": _sorted(
            {"name": u.get("name"), "columns": u["column_names"]}
            for u in inspector.get_unique_constraints(table)
        ),
        "checks": _sorted(
            {"name": ck.get("name"), "sql": _normalise_sql(ck["sqltext"])}
            for ck in inspector.get_check_constraints(table)
        ),
        "indexes": _sorted(_index(ix, descending) for ix in inspector.get_indexes(table)),
    }


def _column(column: ReflectedColumn, autoincrement: set[str] | None) -> dict[str, Any]:
    name = column["name"]
    return {
        "name": name,
        "type": str(column["type"]).upper(),
        "nullable": bool(column["nullable"]),
        "default": _normalise_sql(column.get("default")),
        "autoincrement": (
            name in autoincrement
            if autoincrement is not None
            else column.get("autoincrement") is True
        ),
    }


def _foreign_key(fk: ReflectedForeignKeyConstraint) -> dict[str, Any]:
    return {
        "name": fk.get("name"),
        "columns": fk["constrained_columns"],
        "references": f"{fk['referred_table']}({', '.join(fk['referred_columns'])})",
        "on_delete": (fk.get("options") or {}).get("ondelete", "NO ACTION"),
    }


def _index(index: ReflectedIndex, descending: set[tuple[str, str]]) -> dict[str, Any]:
    name = index["name"] or ""
    sorting: dict[str, Any] = dict(index.get("column_sorting") or {})

    def spelled(column: str | None) -> str:
        desc = (name, column) in descending or "desc" in sorting.get(column or "", ())
        return f"{column} DESC" if desc else str(column)

    return {
        "name": name,
        "columns": [spelled(column) for column in index["column_names"]],
        "unique": bool(index["unique"]),
    }


def _sorted(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=_identity)


def compare_schemas(expected: SchemaShape, found: SchemaShape) -> list[SchemaDifference]:
    """Every difference between two shapes, as readable lines; empty when identical."""
    differences: list[SchemaDifference] = []
    for table in sorted(expected.keys() | found.keys()):
        if table not in found:
            differences.append(SchemaDifference(table, "table", "present", "missing"))
            continue
        if table not in expected:
            differences.append(SchemaDifference(table, "table", "absent", "present"))
            continue
        differences += _compare_table(table, expected[table], found[table])
    return differences


def _compare_table(
    table: str, expected: dict[str, Any], found: dict[str, Any]
) -> list[SchemaDifference]:
    out: list[SchemaDifference] = []
    want_cols = {c["name"]: c for c in expected["columns"]}
    have_cols = {c["name"]: c for c in found["columns"]}
    for name in [*want_cols, *(n for n in have_cols if n not in want_cols)]:
        want, have = want_cols.get(name), have_cols.get(name)
        if have is None:
            out.append(SchemaDifference(table, f"column {name}", _describe(want), "missing"))
        elif want is None:
            out.append(SchemaDifference(table, f"column {name}", "absent", _describe(have)))
        else:
            for attribute in ("type", "nullable", "default", "autoincrement"):
                if want[attribute] != have[attribute]:
                    out.append(
                        SchemaDifference(
                            table,
                            f"column {name} {attribute}",
                            repr(want[attribute]),
                            repr(have[attribute]),
                        )
                    )
    shared = [n for n in want_cols if n in have_cols]
    if shared != [n for n in have_cols if n in want_cols]:
        out.append(
            SchemaDifference(
                table,
                "column order",
                ", ".join(shared),
                ", ".join(n for n in have_cols if n in want_cols),
            )
        )
    if expected["primary_key"] != found["primary_key"]:
        out.append(
            SchemaDifference(
                table,
                "primary key",
                _describe(expected["primary_key"]),
                _describe(found["primary_key"]),
            )
        )
    for kind, label in (
        ("foreign_keys", "foreign key"),
        ("unique", "unique constraint"),
        ("checks", "check constraint"),
        ("indexes", "index"),
    ):
        out += _compare_named(table, label, expected[kind], found[kind])
    return out


def _compare_named(
    table: str, label: str, expected: list[dict[str, Any]], found: list[dict[str, Any]]
) -> list[SchemaDifference]:
    want = {_identity(item): item for item in expected}
    have = {_identity(item): item for item in found}
    out: list[SchemaDifference] = []
    for key in sorted(want.keys() | have.keys()):
        a, b = want.get(key), have.get(key)
        if a == b:
            continue
        out.append(
            SchemaDifference(
                table,
                f"{label} {key}",
                _describe(a) if a is not None else "absent",
                _describe(b) if b is not None else "missing",
            )
        )
    return out


def _identity(item: dict[str, Any]) -> str:
    """Named items match by name; unnamed ones (SQLite) by their columns."""
    if item.get("name"):
        return str(item["name"])
    return "(" + ", ".join(item.get("columns", [])) + ")"


def _describe(item: dict[str, Any] | None) -> str:
    if item is None:
        return "nothing"
    return "{" + ", ".join(f"{k}={v!r}" for k, v in item.items() if k != "name") + "}"


def _normalise_sql(value: Any) -> str | None:
    """Collapse whitespace and redundant outer parentheses, for stable comparison."""
    if value is None:
        return None
    text = re.sub(r"\s+", " ", str(value)).strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            return False
    return depth == 0
