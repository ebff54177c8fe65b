"""The database session an activity sees as ``ctx.session``.

The transaction is opened on first use, not before the activity starts: an activity that
never touches the database holds no connection (and, on SQLite, no write lock) while it
runs. Whatever it does through the session commits or rolls back together with the
history row that records the step. Its own statements raise the driver's errors as they
are; only the commit of the step (storage's) is translated.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection

if TYPE_CHECKING:
    from romancy.storage.connection import Transaction
    from romancy.storage.facade import Storage

log = logging.getLogger("romancy")


class ActivitySession:
    """A lazily started transaction shared by an activity and its history record."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._scope: AbstractAsyncContextManager[Transaction] | None = None
        self._tx: Transaction | None = None
        self._after_commit: list[Callable[[], Awaitable[None]]] = []

    async def connection(self) -> AsyncConnection:
        """The transaction's connection (opening the transaction if needed)."""
        if self._tx is None:
            scope = self._storage.transaction()
            # Kept only once entered: a scope whose entry was interrupted (cancelled while
            # waiting for the write lock) has nothing to roll back.
            self._tx = await scope.__aenter__()
            self._scope = scope
        return self._tx.connection

    async def execute(self, statement: Any, parameters: Any = None) -> Result[Any]:
        """Run a statement in the step's transaction."""
        result: Result[Any] = await (await self.connection()).execute(statement, parameters)
        return result

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        """First column of the first row."""
        return await (await self.connection()).scalar(statement, parameters)

    async def scalars(self, statement: Any, parameters: Any = None) -> Any:
        """First column of every row."""
        return await (await self.connection()).scalars(statement, parameters)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Result[Any]:
        """Run a raw driver-level SQL string (parameters in the driver's style)."""
        return await (await self.connection()).exec_driver_sql(statement, parameters)

    @property
    def started(self) -> bool:
        """Whether the activity opened the transaction."""
        return self._tx is not None

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` once the step has committed (never if it rolls back): wake-ups
        for what the activity wrote must not run before others can see it."""
        self._after_commit.append(callback)

    @asynccontextmanager
    async def commit_scope(self) -> AsyncIterator[Transaction]:
        """The transaction to record the step in; commits when the block succeeds."""
        await self.connection()
        assert self._tx is not None and self._scope is not None
        scope, self._scope, tx, self._tx = self._scope, None, self._tx, None
        callbacks, self._after_commit = self._after_commit, []
        try:
            yield tx
        except BaseException as exc:
            await scope.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        await scope.__aexit__(None, None, None)
        for callback in callbacks:
            try:
                await callback()
            except Exception as error:  # committed already; polling covers a lost wake-up
                log.warning("after-commit action failed: %s", error)

    async def rollback(self) -> None:
        """Abandon whatever the activity did (no-op if it opened nothing)."""
        self._after_commit = []
        if self._scope is not None:
            scope, self._scope, self._tx = self._scope, None, None
            # Exiting with an exception rolls the transaction back (and is not re-raised).
            error = RuntimeError("activity attempt failed")
            await scope.__aexit__(RuntimeError, error, None)
