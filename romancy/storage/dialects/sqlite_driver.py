"""A thread-free async SQLite driver for SQLAlchemy (``sqlite+romancy://``).

aiosqlite runs every call on a helper thread: a statement costs several thread hand-offs
(~50 µs each), which dominates a workflow step. SQLite calls themselves take
microseconds, so this driver runs them directly on the event loop and turns the one
thing that can block — waiting for another connection's write lock — into an async wait:
SQLite's busy timeout stays zero (SQLite itself never sleeps, so nothing waits on the
loop's thread), and a busy statement is tried again after an ``asyncio.sleep`` backoff
until the connection's wait has passed. The loop keeps running meanwhile, so a holder
that needs the loop to finish (another connection of this process) is not deadlocked.

It presents the aiosqlite interface SQLAlchemy's aiosqlite adapter drives (awaitable
cursor methods and a ``_connection`` attribute), so everything above it is unchanged.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_module
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_

_T = TypeVar("_T")

#: How long a statement waits for another connection's write lock before failing.
DEFAULT_BUSY_WAIT = 30.0

#: The longest pause between two tries: short, so a waiter notices a released lock
#: quickly and is not starved by a holder that releases it only briefly.
_MAX_PAUSE = 0.01


class Cursor:
    """An awaitable facade over a :class:`sqlite3.Cursor`."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._cursor = connection._conn.cursor()

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        await self._connection.retry_when_busy(lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Cursor:
        await self._connection.retry_when_busy(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class Connection:
    """An awaitable facade over a :class:`sqlite3.Connection` (no helper thread)."""

    def __init__(self, connection: sqlite3.Connection, busy_wait: float) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._busy_wait = busy_wait

    @property
    def _conn(self) -> sqlite3.Connection:
        assert self._connection is not None, "connection closed"
        return self._connection

    def cursor(self) -> Cursor:
        return Cursor(self)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        await self.retry_when_busy(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._conn.isolation_level = value

    @contextmanager
    def waiting_at_most(self, seconds: float) -> Iterator[None]:
        """Within the block, give up on another connection's lock after ``seconds``."""
        saved, self._busy_wait = self._busy_wait, seconds
        try:
            yield
        finally:
            self._busy_wait = saved

    async def retry_when_busy(self, call: Callable[[], _T]) -> _T:
        """Run ``call``; while another connection holds the lock, wait without blocking."""
        deadline = time.monotonic() + self._busy_wait
        pause = 0.001
        while True:
            try:
                return call()
            except sqlite3.OperationalError as error:
                if not _worth_waiting(error) or time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE)


def _worth_waiting(error: sqlite3.OperationalError) -> bool:
    """``error`` is another connection's lock, which a later try may find released.

    A read transaction whose snapshot another writer has since replaced cannot write at
    all (SQLITE_BUSY_SNAPSHOT): it fails at once, as with SQLite's own busy handler.
    """
    code = getattr(error, "sqlite_errorcode", None)
    return (
        code is not None
        and code & 0xFF == sqlite3.SQLITE_BUSY
        and code != sqlite3.SQLITE_BUSY_SNAPSHOT
    )


async def connect(
    database: str, *, busy_wait: float = DEFAULT_BUSY_WAIT, **kwargs: Any
) -> Connection:
    """Open ``database`` in autocommit mode (SQLAlchemy's hooks issue BEGIN themselves)."""
    kwargs.pop("check_same_thread", None)
    raw = sqlite3.connect(
        database, isolation_level=None, check_same_thread=False, timeout=0, **kwargs
    )
    return Connection(raw, busy_wait)


class _Module:
    """What SQLAlchemy's adapter expects of the aiosqlite module."""

    Connection = Connection
    connect = staticmethod(connect)
    DatabaseError = sqlite3.DatabaseError
    Error = sqlite3.Error
    IntegrityError = sqlite3.IntegrityError
    NotSupportedError = sqlite3.NotSupportedError
    OperationalError = sqlite3.OperationalError
    ProgrammingError = sqlite3.ProgrammingError
    sqlite_version = sqlite3.sqlite_version
    sqlite_version_info = sqlite3.sqlite_version_info
    __version__ = sqlite3.sqlite_version


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level  # type: ignore[no-any-return]

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        # No helper thread to hand the change to: set it directly.
        self._connection.isolation_level = value


class _DBAPI(AsyncAdapt_dbapi_module):
    def __init__(self) -> None:
        super().__init__(_Module, dbapi_module=sqlite3)  # type: ignore[arg-type]
        self.sqlite = sqlite3
        self.aiosqlite = _Module
        self.paramstyle = "qmark"
        self.has_stop = True
        for name in (
            "DatabaseError",
            "Error",
            "IntegrityError",
            "NotSupportedError",
            "OperationalError",
            "ProgrammingError",
            "sqlite_version",
            "sqlite_version_info",
        ):
            setattr(self, name, getattr(sqlite3, name))
        for name in ("PARSE_COLNAMES", "PARSE_DECLTYPES", "Binary"):
            setattr(self, name, getattr(sqlite3, name))

    def connect(self, *args: Any, **kwargs: Any) -> _Connection:
        connection: Any = await_(connect(*args, **kwargs))
        return _Connection(self, connection)


class RomancySQLiteDialect(SQLiteDialect_aiosqlite):
    """SQLAlchemy's aiosqlite dialect, over the thread-free driver above."""

    driver = "romancy"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return _DBAPI()
