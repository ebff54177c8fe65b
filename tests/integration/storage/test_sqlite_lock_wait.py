"""Waiting for SQLite's write lock never blocks the event loop.

Another process (or another connection of this one) holding the write lock makes romancy
wait for it, but the loop keeps running meanwhile: leases, heartbeats and requests go on,
and a holder that needs the loop to finish its own work is not deadlocked.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import closing

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

import romancy
from romancy import App, MigrationLockTimeoutError, WorkflowContext
from romancy.storage import Storage
from tests.support.fixtures import FAST_OPTIONS
from tests.support.sqlite_lock import loop_stall_meter, outside_writer

from ..engine.helpers import eventually

pytestmark = pytest.mark.backends(
    "sqlite", reason="SQLite's whole-file write lock; the servers lock rows, not the database"
)

#: The longest gap a 10 ms ticker may see while the lock is held for seconds: far below
#: the hold (a blocked loop gaps for the whole hold), with room for a busy shared machine
#: (the test suite runs two workers on two cores). The 100 ms promise is measured alone,
#: by the chaos suite's long profile (docs/reliability.md).
MAX_GAP = 0.5

holding: set[str] = set()


@romancy.activity
async def lw_echo(ctx: WorkflowContext, value: int) -> int:
    return value


@romancy.workflow
async def lw_flow(ctx: WorkflowContext, value: int) -> int:
    return await lw_echo(ctx, value)


@romancy.activity
async def lw_own_connection(ctx: WorkflowContext, path: str) -> str:
    # The activity's own connection, on aiosqlite's helper thread: it holds the write
    # lock across an await, so it needs the loop to run before it can commit.
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("BEGIN IMMEDIATE")
        await db.execute("CREATE TABLE IF NOT EXISTS lw_side (n INTEGER)")
        await db.execute("INSERT INTO lw_side VALUES (1)")
        holding.add(ctx.instance_id)
        await asyncio.sleep(1.0)
        await db.execute("COMMIT")
    return "written"


@romancy.workflow
async def lw_side_writer(ctx: WorkflowContext, path: str) -> str:
    return await lw_own_connection(ctx, path)


def _path(storage: Storage) -> str:
    assert storage.url.sqlite_path is not None
    return storage.url.sqlite_path


async def test_a_writer_in_another_process_does_not_stall_the_loop(
    app: App, storage: Storage
) -> None:
    async with loop_stall_meter() as stall, outside_writer(_path(storage), 2.0) as holder:
        instance_id = await app.start_workflow(lw_flow, 7)
        waited = time.monotonic() - holder.locked_at
    assert waited > 1.5, "the start should have waited for the other process's lock"
    assert stall.max_gap < MAX_GAP
    assert await app.wait_for_result(instance_id, timeout=20) == 7


async def test_a_second_connection_in_this_process_does_not_deadlock(
    app: App, storage: Storage
) -> None:
    async with loop_stall_meter() as stall:
        side = await app.start_workflow(lw_side_writer, _path(storage))
        await eventually(lambda: side in holding, what="the side connection's lock")
        started = [await app.start_workflow(lw_flow, n) for n in range(5)]
        results = [await app.wait_for_result(i, timeout=20) for i in started]
        assert await app.wait_for_result(side, timeout=20) == "written"
    assert results == list(range(5))
    assert stall.max_gap < MAX_GAP
    async with storage.transaction(read_only=True) as tx:
        assert await tx.connection.scalar(text("SELECT count(*) FROM lw_side")) == 1


async def test_app_start_waits_for_the_migration_lock_without_blocking(storage: Storage) -> None:
    app = App(database=storage.url.original, **FAST_OPTIONS)
    try:
        async with loop_stall_meter() as stall, outside_writer(_path(storage), 1.5) as holder:
            await app.start()
            waited = time.monotonic() - holder.locked_at
        assert waited > 1.0, "start should have waited for the migration lock"
        assert stall.max_gap < MAX_GAP
        assert await app.wait_for_result(await app.start_workflow(lw_flow, 3), timeout=20) == 3
    finally:
        await app.shutdown()


async def test_migration_lock_wait_ends_with_a_timeout_error(storage: Storage) -> None:
    async with loop_stall_meter() as stall, outside_writer(_path(storage), 3.0):
        began = time.monotonic()
        with pytest.raises(MigrationLockTimeoutError, match=r"0\.5 s"):
            await storage.migrator(lock_timeout=0.5).up()
        waited = time.monotonic() - began
    assert 0.4 < waited < 2.0
    assert stall.max_gap < MAX_GAP
    assert await storage.migrate() == []  # the lock is free again once the holder is gone


async def test_a_read_transaction_that_writes_after_another_commit_fails_at_once(
    storage: Storage,
) -> None:
    # Its snapshot is stale: waiting cannot help, so the error comes without a wait.
    async with storage.transaction() as tx:
        await tx.connection.execute(text("CREATE TABLE lw_counter (n INTEGER)"))
    with pytest.raises(OperationalError, match="locked"):
        async with storage.transaction(read_only=True) as tx:
            await tx.connection.scalar(text("SELECT count(*) FROM lw_counter"))
            with closing(sqlite3.connect(_path(storage))) as other, other:
                other.execute("INSERT INTO lw_counter VALUES (2)")
            began = time.monotonic()
            try:
                await tx.connection.execute(text("INSERT INTO lw_counter VALUES (1)"))
            finally:
                assert time.monotonic() - began < 1.0
