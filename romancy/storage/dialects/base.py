"""The dialect seam: everything that differs between SQLite, PostgreSQL and MySQL.

Storage code is written once against SQLAlchemy Core; whenever SQL must differ by backend
(time arithmetic, insert-or-ignore, advisory locks, error classification, connection
setup) it asks the :class:`Dialect` for it. Nothing outside ``romancy.storage`` sees SQL.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, Connection, Table, func, literal, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert

from romancy.storage.urls import DatabaseURL, DialectName

JsonScalar = str | int | float | bool | None


# Same key and name as Edda so the two runtimes never migrate one database at once.
MIGRATION_LOCK_KEY = 20251217000000
MIGRATION_LOCK_NAME = "edda_migration"


class IntrospectionHooks:
    """Schema facts SQLAlchemy's inspector does not report for every backend.

    Called with a synchronous connection from inside ``run_sync``.
    """

    def descending_index_columns(self, conn: Connection, table: str) -> set[tuple[str, str]]:
        """``(index, column)`` pairs stored in descending order (beyond the inspector's)."""
        return set()

    def autoincrement_columns(self, conn: Connection, table: str) -> set[str] | None:
        """Auto-increment columns, or ``None`` to trust the inspector's ``autoincrement``."""
        return None


class Dialect(IntrospectionHooks, abc.ABC):
    """Backend-specific SQL and connection behaviour."""

    name: ClassVar[DialectName]
    #: ``SELECT … FOR UPDATE SKIP LOCKED`` is available.
    supports_skip_locked: ClassVar[bool] = True
    #: Writers must be serialised in-process (SQLite has one writer per database file).
    serialize_writes: ClassVar[bool] = False
    #: Execution options that open a transaction as read-only (none: no difference).
    read_only_options: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    def single_connection(self, db: DatabaseURL) -> bool:
        """Whether ``db`` lives in one connection shared by every caller (no second
        pool, and readers wait for writers)."""
        return False

    def create_engine(
        self, db: DatabaseURL, *, pool_size: int, autocommit: bool = False
    ) -> AsyncEngine:
        """An async engine whose sessions run in UTC.

        ``autocommit`` engines run each statement on its own: a single-statement
        operation then costs one round trip instead of three (BEGIN, statement, COMMIT).
        """
        options = self.engine_options(db, pool_size)
        if autocommit:
            options |= {
                "isolation_level": "AUTOCOMMIT",
                "skip_autocommit_rollback": True,
                "pool_reset_on_return": None,
            }
        engine = create_async_engine(db.url, **options)
        self.prepare_engine(engine, db, autocommit=autocommit)
        return engine

    @abc.abstractmethod
    def engine_options(self, db: DatabaseURL, pool_size: int) -> dict[str, Any]:
        """Keyword arguments for ``create_async_engine`` (pool, driver settings)."""

    def prepare_engine(self, engine: AsyncEngine, db: DatabaseURL, *, autocommit: bool) -> None:
        """Attach connection hooks to a new engine (none by default)."""

    @abc.abstractmethod
    def now(self) -> ColumnElement[Any]:
        """The database's current UTC time, in the form this backend stores timestamps."""

    @abc.abstractmethod
    def now_plus(self, seconds: ColumnElement[Any] | float) -> ColumnElement[Any]:
        """The current UTC time plus ``seconds`` (a number or an SQL expression)."""

    def is_past(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        """``column`` holds a time that has passed, judged on the database clock."""
        return column < self.now()

    def timestamp(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """``column`` in a form comparable with :meth:`now` and :meth:`now_plus`."""
        return column

    def greatest(self, a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
        """The larger of two values."""
        return func.greatest(a, b)

    def is_due(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        """``column`` holds a time that is now or has passed."""
        return column <= self.now()

    def exact(self, column: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
        """``column`` equals ``value`` character for character (names and ids): no case,
        accent or trailing-space folding, whatever the column's collation."""
        equal: ColumnElement[bool] = column == value
        return equal

    async def probe(self, conn: AsyncConnection) -> int | None:
        """Check the database answers; returns the largest statement it accepts in
        bytes, or ``None`` when no limit a payload could reach applies."""
        await conn.execute(select(literal(1)))
        return None

    def statement_bytes(self, value: str | bytes) -> int:
        """Bytes ``value`` takes inside a statement sent to the server."""
        return len(value.encode("utf-8")) if isinstance(value, str) else len(value)

    @abc.abstractmethod
    def json_match(
        self, column: ColumnElement[Any], keys: list[str], value: JsonScalar
    ) -> ColumnElement[bool]:
        """The JSON text in ``column`` holds exactly ``value`` (string, number, bool or
        null; same JSON type) at the object path ``keys``, however the peer that wrote it
        escaped keys and strings; a row holding ``\u0000`` or malformed JSON never raises.
        Keys and values travel as parameters (docs/storage.md, "Searching instances")."""

    @abc.abstractmethod
    def contains_literal(self, text: ColumnElement[Any], fragment: str) -> ColumnElement[bool]:
        """``text`` contains ``fragment`` character for character (no wildcards, no case
        or accent folding)."""

    @abc.abstractmethod
    def insert_ignore(self, table: Table) -> Insert:
        """An INSERT that silently skips rows violating a unique or primary key."""

    @abc.abstractmethod
    def upsert(self, table: Table, keys: list[str], update: dict[str, Any]) -> Insert:
        """An INSERT that, on a conflict on ``keys``, updates ``update`` instead."""

    @abc.abstractmethod
    def is_unique_violation(self, error: DBAPIError) -> bool:
        """``error`` is a duplicate-key violation."""

    @abc.abstractmethod
    def is_foreign_key_violation(self, error: DBAPIError) -> bool:
        """``error`` is a row referring to a parent row that does not exist."""

    @abc.abstractmethod
    def is_already_exists(self, error: DBAPIError) -> bool:
        """``error`` reports that a table, index or constraint already exists."""

    @abc.abstractmethod
    async def try_migration_lock(self, conn: AsyncConnection, wait_seconds: float) -> bool:
        """Take the cross-process migration lock, waiting up to ``wait_seconds``."""

    @abc.abstractmethod
    async def release_migration_lock(self, conn: AsyncConnection) -> None:
        """Release the lock taken by :meth:`try_migration_lock`."""


def driver_error(error: BaseException) -> Any:
    """The driver's own exception inside a SQLAlchemy wrapper."""
    return getattr(error, "orig", None) or error
