"""SQLite: one file, one writer, timestamps as UTC text."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, event, func, literal, text
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.dml import Insert

from romancy.storage.dialects.base import Dialect, JsonScalar, driver_error, quoted_json_path
from romancy.storage.urls import MEMORY, DatabaseURL

#: How long a writer waits for another process's write transaction before failing.
BUSY_TIMEOUT_MS = 30_000

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

    def engine_options(self, db: DatabaseURL, pool_size: int) -> dict[str, Any]:
        if db.sqlite_path == MEMORY:
            return {"poolclass": StaticPool}
        return {"pool_size": pool_size, "max_overflow": pool_size}

    def prepare_engine(self, engine: AsyncEngine, db: DatabaseURL, *, autocommit: bool) -> None:
        memory = db.sqlite_path == MEMORY

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" hook below decide how transactions start.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

        if autocommit:
            return

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            # Writers take the write lock up front so a concurrent writer waits (busy
            # timeout) instead of failing later with "database is locked" on upgrade.
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
        path = quoted_json_path(keys)
        kind = func.json_type(column, path)
        if value is None:
            return kind == "null"
        if isinstance(value, bool):
            return kind == ("true" if value else "false")
        extracted = func.json_extract(column, path)
        if isinstance(value, str):
            return and_(kind == "text", extracted == value)
        return and_(kind.in_(["integer", "real"]), extracted == value)

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
        # transaction, so starting it is taking the lock; the busy timeout is the wait.
        await _set_busy_timeout(conn, int(wait_seconds * 1000))
        try:
            await conn.begin()
        except OperationalError as exc:
            if "locked" in str(exc).lower():
                return False
            raise
        finally:
            await _set_busy_timeout(conn, BUSY_TIMEOUT_MS)
        return True

    async def release_migration_lock(self, conn: AsyncConnection) -> None:
        """Nothing to do: committing or rolling back the transaction released it."""


async def _set_busy_timeout(conn: AsyncConnection, milliseconds: int) -> None:
    # Straight to the driver: through SQLAlchemy the PRAGMA would open a transaction.
    raw = await conn.get_raw_connection()
    assert raw.driver_connection is not None
    await raw.driver_connection.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")
