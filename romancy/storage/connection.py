"""Connections and transactions: what every store runs its statements on.

A :class:`Database` owns the two engines (one for transactions, one in autocommit mode
for single statements), the in-process write serialisation a backend may need, the
statement caches and the fast write path. Stores receive it, never the whole
``Storage``; each store method takes an optional ``tx`` and runs on :meth:`Database.use`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from romancy.errors import DatabaseUnavailableError
from romancy.storage.dialects import Dialect, dialect_for
from romancy.storage.drivers import require_driver
from romancy.storage.faults import raise_duplicate, translated, unavailable
from romancy.storage.urls import DatabaseURL, parse_database_url


@dataclass(frozen=True)
class _RawStatement:
    """A statement compiled once for the driver: its SQL and how to order parameters."""

    sql: str
    positions: tuple[str, ...] | None  # parameter order, for positional paramstyles
    defaults: dict[str, Any]  # values compiled into the statement (constants)

    def bind(self, parameters: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        values = {**self.defaults, **parameters}
        return values if self.positions is None else [values[name] for name in self.positions]


class Transaction:
    """An open database transaction, passed as ``tx=`` to join storage calls to it."""

    __slots__ = ("connection",)

    def __init__(self, connection: AsyncConnection) -> None:
        #: The SQLAlchemy connection: run your own statements on it to join the transaction.
        self.connection = connection


class Database:
    """The connection pools of one database, and how storage statements run on them."""

    def __init__(self, db: DatabaseURL, dialect: Dialect, *, pool_size: int) -> None:
        self.url = db
        self.dialect = dialect
        shared = dialect.single_connection(db)
        # Inserts report their rowcount too (insert-or-ignore tells "was it new?" by it).
        self.engine: AsyncEngine = dialect.create_engine(db, pool_size=pool_size).execution_options(
            preserve_rowcount=True
        )
        # Single statements outside a caller's transaction run on autocommit connections
        # (one round trip each); a database that is one shared connection has no second.
        self._auto: AsyncEngine | None = (
            None
            if shared
            else dialect.create_engine(db, pool_size=pool_size, autocommit=True).execution_options(
                preserve_rowcount=True
            )
        )
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if dialect.serialize_writes else None
        # One shared connection: reads must wait for writes too.
        self._read_lock = self._write_lock if shared else None
        self._statements: dict[Hashable, Executable] = {}
        self._raw_statements: dict[Hashable, _RawStatement] = {}
        #: Send NOTIFY hints on the shared channels (PostgreSQL only).
        self.notify_enabled = dialect.name == "postgresql"
        #: Largest statement the server accepts, in bytes (``None``: no such limit).
        self.packet_limit: int | None = None

    @classmethod
    async def open(cls, url: str | DatabaseURL, *, pool_size: int = 10) -> Database:
        """Connect to ``url`` (any accepted spelling) and check the database answers."""
        db = url if isinstance(url, DatabaseURL) else parse_database_url(url)
        require_driver(db)  # a missing extra names its pip install line
        database = cls(db, dialect_for(db.dialect), pool_size=pool_size)
        try:
            async with database.transaction(read_only=True) as tx:
                database.packet_limit = await database.dialect.probe(tx.connection)
        except (DatabaseUnavailableError, DBAPIError, OSError) as exc:
            await database.close()
            if isinstance(exc, DatabaseUnavailableError):
                raise
            raise unavailable(db, exc) from None
        return database

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        if self._auto is not None:
            await self._auto.dispose()

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[Transaction]:
        """A database transaction; commits on success, rolls back on an exception.

        A unique key that fails at the commit raises DuplicateRecordError; errors of
        statements run inside the block reach the caller as the driver raised them.
        """
        lock = self._read_lock if read_only else self._write_lock
        async with lock or nullcontext(), translated(self.url), self.engine.connect() as conn:
            if read_only and self.dialect.read_only_options:
                conn = await conn.execution_options(**self.dialect.read_only_options)
            async with conn.begin() as begun:
                yield Transaction(conn)
                try:
                    await begun.commit()
                except IntegrityError as error:
                    raise_duplicate(self.dialect, error)

    @asynccontextmanager
    async def use(
        self, tx: Transaction | None, *, read_only: bool = False, atomic: bool = False
    ) -> AsyncIterator[AsyncConnection]:
        """The connection a storage call runs its own statements on.

        The caller's transaction when given; else a transaction of our own when the call
        runs several statements that must commit together (``atomic``); else an
        autocommit connection, for one statement. A unique-key violation inside the
        block raises DuplicateRecordError.
        """
        try:
            if tx is not None:
                yield tx.connection
            elif atomic or self._auto is None:
                async with self.transaction(read_only=read_only) as own:
                    yield own.connection
            else:
                lock = self._read_lock if read_only else self._write_lock
                async with (
                    lock or nullcontext(),
                    translated(self.url),
                    self._auto.connect() as conn,
                ):
                    yield conn
        except IntegrityError as error:
            raise_duplicate(self.dialect, error)

    async def notify(self, channel: str, payload: str, *, tx: Transaction | None = None) -> None:
        """Send a NOTIFY hint (PostgreSQL; delivered when ``tx`` commits). No-op elsewhere."""
        if not self.notify_enabled:
            return
        async with self.use(tx) as conn:
            await conn.execute(select(func.pg_notify(channel, payload)))

    def cached(self, key: Hashable, build: Callable[[], Executable]) -> Executable:
        """A statement built once and reused: a hot path then skips SQLAlchemy's
        statement construction and cache-key work, and runs with bound parameters."""
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = build()
        return statement

    async def write(
        self,
        conn: AsyncConnection,
        key: Hashable,
        build: Callable[[], Executable],
        parameters: dict[str, Any] | list[dict[str, Any]],
    ) -> int:
        """Run a cached write statement straight on the driver; returns the rowcount.

        The statement is compiled by SQLAlchemy once; each call then skips SQLAlchemy's
        per-execution work, which costs more than the round trip itself on a hot path.
        Driver errors come back as the usual SQLAlchemy exceptions, and a connection the
        dialect recognises as dead is invalidated, as SQLAlchemy would.
        """
        raw = self._raw_statements.get(key)
        if raw is None:
            compiled = self.cached(key, build).compile(dialect=conn.dialect)  # type: ignore[attr-defined]
            positions = tuple(compiled.positiontup or ()) if compiled.positional else None
            raw = _RawStatement(compiled.string, positions, dict(compiled.params))
            self._raw_statements[key] = raw
        if isinstance(parameters, list) and len(parameters) == 1:
            parameters = parameters[0]  # executemany costs more than execute for one row
        many = isinstance(parameters, list)
        bound: Any = (
            [raw.bind(p) for p in parameters]
            if isinstance(parameters, list)
            else raw.bind(parameters)
        )
        proxied = await conn.get_raw_connection()
        dbapi_error = conn.dialect.loaded_dbapi.Error
        try:
            async with proxied.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
                await (cursor.executemany if many else cursor.execute)(raw.sql, bound)
                return int(cursor.rowcount)
        except dbapi_error as error:
            lost = conn.dialect.is_disconnect(error, proxied, None)
            if lost:
                await conn.invalidate()
            raise DBAPIError.instance(
                raw.sql, bound, error, dbapi_error, connection_invalidated=lost
            ) from error
