"""SQLite: one file, one writer, timestamps as UTC text."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    case,
    event,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.dml import Insert

from romancy.storage.dialects.base import Dialect, JsonScalar, driver_error
from romancy.storage.dialects.json_text import as_double, as_integer, nul_guarded
from romancy.storage.dialects.sqlite_driver import DEFAULT_BUSY_WAIT
from romancy.storage.dialects.sqlite_driver import Connection as ThreadFreeConnection
from romancy.storage.urls import MEMORY, DatabaseURL

registry.register(
    "sqlite.romancy", "romancy.storage.dialects.sqlite_driver", "RomancySQLiteDialect"
)

_AUTOINCREMENT = re.compile(r"(\w+)\s+INTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT", re.IGNORECASE)

#: Execution option asking for a deferred (read) transaction instead of BEGIN IMMEDIATE.
READ_ONLY = "romancy_read_only"


class SQLiteDialect(Dialect):
    name = "sqlite"
    supports_skip_locked = False
    serialize_writes = True
    read_only_options = MappingProxyType({READ_ONLY: True})

    def single_connection(self, db: DatabaseURL) -> bool:
        return db.sqlite_path == MEMORY

    def engine_options(self, db: DatabaseURL, pool_size: int) -> dict[str, Any]:
        if self.single_connection(db):
            return {"poolclass": StaticPool}
        return {"pool_size": pool_size, "max_overflow": pool_size}

    def prepare_engine(self, engine: AsyncEngine, db: DatabaseURL, *, autocommit: bool) -> None:
        memory = self.single_connection(db)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" hook below decide how transactions start.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            if not isinstance(dbapi_conn.driver_connection, ThreadFreeConnection):
                # aiosqlite waits in SQLite's busy handler on its own thread. Ours keeps
                # SQLite's timeout at zero and waits asynchronously: a busy handler would
                # block the event loop.
                cursor.execute(f"PRAGMA busy_timeout = {_busy_timeout_ms(DEFAULT_BUSY_WAIT)}")
            if not memory and db.url.query.get("mode") != "ro":  # read-only: as it is
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

        if autocommit:
            return

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            # Writers take the write lock up front so a concurrent writer waits for it
            # instead of failing later with "database is locked" on upgrade.
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    def now(self) -> ColumnElement[Any]:
        return func.datetime("now")

    def now_plus(self, seconds: ColumnElement[Any] | float) -> ColumnElement[Any]:
        amount = literal(float(seconds)) if isinstance(seconds, int | float) else seconds
        return func.datetime("now", func.printf("%+f seconds", amount))

    def is_past(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        # datetime() normalises the "T", fraction and offset forms the peers write.
        return func.datetime(column) < func.datetime("now")

    def timestamp(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.datetime(column)

    def greatest(self, a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.max(a, b)  # SQLite's two-argument max() is scalar

    def is_due(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        return func.datetime(column) <= func.datetime("now")

    def json_match(
        self, column: ColumnElement[Any], keys: list[str], value: JsonScalar
    ) -> ColumnElement[bool]:
        # json_each decodes keys, so every peer's spelling of a key is found.
        return case(
            (func.json_valid(column) == 0, false()),
            else_=nul_guarded(column, keys, value, _walk_match),
        )

    def contains_literal(self, text: ColumnElement[Any], fragment: str) -> ColumnElement[bool]:
        return func.instr(text, fragment) > 0

    def insert_ignore(self, table: Table) -> Insert:
        return sqlite_insert(table).on_conflict_do_nothing()

    def upsert(self, table: Table, keys: list[str], update: dict[str, Any]) -> Insert:
        return sqlite_insert(table).on_conflict_do_update(index_elements=keys, set_=update)

    def is_unique_violation(self, error: DBAPIError) -> bool:
        orig = driver_error(error)
        return isinstance(orig, sqlite3.IntegrityError) and "UNIQUE" in str(orig)

    def is_foreign_key_violation(self, error: DBAPIError) -> bool:
        orig = driver_error(error)
        return isinstance(orig, sqlite3.IntegrityError) and "FOREIGN KEY" in str(orig)

    def is_already_exists(self, error: DBAPIError) -> bool:
        return "already exists" in str(driver_error(error)).lower()

    def descending_index_columns(self, conn: Connection, table: str) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for index in conn.execute(text("SELECT name FROM pragma_index_list(:t)"), {"t": table}):
            columns = conn.execute(
                text('SELECT name, "desc" FROM pragma_index_xinfo(:i) WHERE key = 1'),
                {"i": index[0]},
            )
            found |= {(index[0], column) for column, desc in columns if desc}
        return found

    def autoincrement_columns(self, conn: Connection, table: str) -> set[str] | None:
        sql = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
        ).scalar()
        return set(_AUTOINCREMENT.findall(sql or ""))

    async def try_migration_lock(self, conn: AsyncConnection, wait_seconds: float) -> bool:
        # SQLite has no advisory locks: the migration runs inside one BEGIN IMMEDIATE
        # transaction, so starting it is taking the lock.
        try:
            async with _waiting_at_most(conn, wait_seconds):
                await conn.begin()
        except OperationalError as exc:
            if "locked" in str(exc).lower():
                return False
            raise
        return True

    async def release_migration_lock(self, conn: AsyncConnection) -> None:
        """Nothing to do: committing or rolling back the transaction released it."""


@asynccontextmanager
async def _waiting_at_most(conn: AsyncConnection, seconds: float) -> AsyncIterator[None]:
    """Within the block, ``conn`` gives up on another connection's lock after ``seconds``."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if isinstance(driver, ThreadFreeConnection):
        with driver.waiting_at_most(seconds):
            yield
        return
    # aiosqlite: straight to the driver, as through SQLAlchemy the PRAGMA would open a
    # transaction.
    assert driver is not None
    await driver.execute(f"PRAGMA busy_timeout = {_busy_timeout_ms(seconds)}")
    try:
        yield
    finally:
        await driver.execute(f"PRAGMA busy_timeout = {_busy_timeout_ms(DEFAULT_BUSY_WAIT)}")


def _busy_timeout_ms(seconds: float) -> int:
    return int(seconds * 1000)


def _walk_match(
    document: ColumnElement[Any], keys: list[str], value: JsonScalar
) -> ColumnElement[bool]:
    """One json_each per key: each level must be an object holding the next key."""
    conditions = [func.json_type(document) == "object"]
    parent: ColumnElement[Any] = document
    levels = []
    for key in keys:
        level = func.json_each(parent).table_valued("key", "type", "atom", "value").alias()
        conditions.append(level.c.key == key)
        levels.append(level)
        # Only an object is walked into: json_each would misread a decoded string.
        parent = case((level.c.type == "object", level.c.value), else_="{}")
    conditions.append(_value_match(levels[-1].c.type, levels[-1].c.atom, value))
    joined: FromClause = levels[0]
    for level in levels[1:]:
        joined = joined.join(level, true())  # each level reads the one before it
    return exists(select(literal(1)).select_from(joined).where(*conditions))


def _value_match(
    kind: ColumnElement[Any], atom: ColumnElement[Any], value: JsonScalar
) -> ColumnElement[bool]:
    if value is None:
        return kind == "null"
    if isinstance(value, bool):
        return kind == ("true" if value else "false")
    if isinstance(value, str):
        return and_(kind == "text", atom == value)
    matches = []
    integer, double = as_integer(value), as_double(value)
    if integer is not None:
        # An integer literal beyond 64 bits comes back as a rounded real: never equal.
        matches.append(and_(kind == "integer", func.typeof(atom) == "integer", atom == integer))
    if double is not None:
        matches.append(and_(kind == "real", atom == double))
    return or_(false(), *matches)
