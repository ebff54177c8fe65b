"""PostgreSQL: psycopg 3, sessions in UTC, advisory lock for migrations."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Float,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from romancy.storage.dialects.base import MIGRATION_LOCK_KEY, Dialect, JsonScalar, driver_error
from romancy.storage.dialects.json_text import (
    as_double,
    as_integer,
    integer_spellings,
    nul_guarded,
)
from romancy.storage.urls import DatabaseURL

_UNIQUE_VIOLATION = "23505"
_FOREIGN_KEY_VIOLATION = "23503"
_ALREADY_EXISTS = {"42P07", "42710", "42P06", "42723"}  # table, object, schema, function


class PostgreSQLDialect(Dialect):
    name = "postgresql"

    def engine_options(self, db: DatabaseURL, pool_size: int) -> dict[str, Any]:
        return {
            "pool_size": pool_size,
            "max_overflow": pool_size,
            # Columns are TIMESTAMP WITHOUT TIME ZONE holding UTC: NOW() must be UTC too.
            "connect_args": {"options": "-c TimeZone=UTC"},
        }

    def now(self) -> ColumnElement[Any]:
        return func.localtimestamp()

    def now_plus(self, seconds: ColumnElement[Any] | float) -> ColumnElement[Any]:
        amount = literal(float(seconds)) if isinstance(seconds, int | float) else seconds
        return func.localtimestamp() + cast(amount, Float) * literal_column("INTERVAL '1 second'")

    def json_match(
        self, column: ColumnElement[Any], keys: list[str], value: JsonScalar
    ) -> ColumnElement[bool]:
        # PostgreSQL turns no \\u0000 into text: those rows are matched respelled.
        return nul_guarded(column, keys, value, _path_match)

    def contains_literal(self, text: ColumnElement[Any], fragment: str) -> ColumnElement[bool]:
        return func.strpos(text, fragment) > 0

    def insert_ignore(self, table: Table) -> Insert:
        return pg_insert(table).on_conflict_do_nothing()

    def upsert(self, table: Table, keys: list[str], update: dict[str, Any]) -> Insert:
        return pg_insert(table).on_conflict_do_update(index_elements=keys, set_=update)

    def is_unique_violation(self, error: DBAPIError) -> bool:
        return getattr(driver_error(error), "sqlstate", None) == _UNIQUE_VIOLATION

    def is_foreign_key_violation(self, error: DBAPIError) -> bool:
        return getattr(driver_error(error), "sqlstate", None) == _FOREIGN_KEY_VIOLATION

    def is_already_exists(self, error: DBAPIError) -> bool:
        return getattr(driver_error(error), "sqlstate", None) in _ALREADY_EXISTS

    async def try_migration_lock(self, conn: AsyncConnection, wait_seconds: float) -> bool:
        # Polling the try-variant keeps the wait bounded without touching lock_timeout,
        # and it is the same lock key Edda takes.
        deadline = time.monotonic() + wait_seconds
        query = text("SELECT pg_try_advisory_lock(:key)").bindparams(key=MIGRATION_LOCK_KEY)
        while True:
            got = (await conn.execute(query)).scalar_one()
            await conn.commit()
            if got:
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.1)

    async def release_migration_lock(self, conn: AsyncConnection) -> None:
        query = text("SELECT pg_advisory_unlock(:key)").bindparams(key=MIGRATION_LOCK_KEY)
        await conn.execute(query)
        await conn.commit()


def _path_match(
    document: ColumnElement[Any], keys: list[str], value: JsonScalar
) -> ColumnElement[bool]:
    # json, not jsonb: a number keeps its literal text (jsonb would rewrite 1e2 as 100).
    doc = cast(document, JSON)

    def at(path: list[str], op: str = "#>") -> ColumnElement[Any]:
        return doc.op(op, return_type=JSON if op == "#>" else Text)(
            bindparam(None, path, type_=ARRAY(Text))
        )

    # Each level walked through must be an object: "a.0" never indexes an array.
    objects = [func.json_typeof(at(keys[:n])) == "object" for n in range(len(keys))]
    kind, raw = func.json_typeof(at(keys)), cast(at(keys), Text)
    if value is None:
        match = kind == "null"
    elif isinstance(value, bool):
        match = and_(kind == "boolean", raw == ("true" if value else "false"))
    elif isinstance(value, str):
        match = and_(kind == "string", at(keys, "#>>") == value)
    else:
        integer, double = as_integer(value), as_double(value)
        # CASE, not AND: PostgreSQL may evaluate AND's operands in any order, and
        # casting a string's text to a double raises.
        match = case(
            (kind != "number", false()),
            (
                raw.regexp_match("^-?[0-9]+$"),
                false() if integer is None else raw.in_(integer_spellings(integer)),
            ),
            else_=false() if double is None else cast(raw, Float) == double,
        )
    return and_(*objects, match)
