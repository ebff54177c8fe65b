"""Group commit: concurrent single-row writes share one statement.

When many workflows record steps at once, each would pay a statement and a round trip
of its own. A :class:`GroupWriter` queues the rows; one drainer writes everything queued
with a single multi-row statement, and a row waits only for the statement that carries
it. Alone, a row is written at once — batching adds no delay, only shares the cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.exc import IntegrityError

from romancy.errors import DuplicateRecordError

Row = TypeVar("Row")

#: Most rows carried by one statement.
MAX_BATCH = 500


class GroupWriter(Generic[Row]):
    """Writes rows in batches; each :meth:`write` returns once its row is committed."""

    def __init__(self, write_rows: Callable[[list[Row]], Awaitable[object]]) -> None:
        self._write_rows = write_rows
        self._queue: list[tuple[Row, asyncio.Future[None]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self._writing = False  # a lone row is being written directly

    async def write(self, row: Row) -> None:
        """Write ``row``, sharing a statement with rows queued meanwhile."""
        if self._drainer is None and not self._writing:
            # Nothing in flight: write at once, without a queue or a task hand-off.
            self._writing = True
            try:
                await self._write_rows([row])
            finally:
                self._writing = False
                self._start_drainer()
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((row, future))
        if not self._writing:
            self._start_drainer()
        await future

    def _start_drainer(self) -> None:
        if self._queue and self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[:MAX_BATCH]
                del self._queue[:MAX_BATCH]
                await self._write_batch(batch)
        finally:
            self._drainer = None

    async def _write_batch(self, batch: list[tuple[Row, asyncio.Future[None]]]) -> None:
        try:
            await self._write_rows([row for row, _ in batch])
        except (IntegrityError, DuplicateRecordError) as error:
            if len(batch) == 1:
                _settle(batch, error)
                return
            # One row broke a constraint: write them one by one so only it fails.
            for item in batch:
                await self._write_batch([item])
        except Exception as error:
            _settle(batch, error)
        except BaseException:  # the drainer was cancelled: so are the writes it carried
            for _, future in batch:
                future.cancel()
            raise
        else:
            _settle(batch, None)


def _settle(batch: list[tuple[Row, asyncio.Future[None]]], error: Exception | None) -> None:
    for _, future in batch:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
