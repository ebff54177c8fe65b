"""An outside process holds SQLite's write lock while an App runs workflows.

The App's writes wait for the lock, but its event loop never stops: lease renewals, the
leader's heartbeat and every other task keep running, no lease is lost, and the workflows
finish once the lock is released. Long profile: the lock is held 5 s; short: 1.5 s.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

import romancy
from romancy import App, WorkflowContext
from romancy.storage import Storage
from tests.support.chaos import profile, record
from tests.support.fixtures import Backend
from tests.support.sqlite_lock import loop_stall_meter, outside_writer

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.backends("sqlite", reason="SQLite's whole-file write lock; servers lock rows"),
]

#: Per profile: how long the outside process holds the lock, and how many workflows run.
HOLD_SECONDS = {"short": 1.5, "long": 5.0}
WORKFLOWS = {"short": 12, "long": 40}
STEPS = 8

#: Log lines that would mean a lease or the leadership was lost while the lock was held.
TROUBLE = ("lock lost", "took it over", "lost the leadership")


@romancy.activity
async def lh_step(ctx: WorkflowContext, n: int) -> int:
    await asyncio.sleep(0.1)
    return n


@romancy.workflow
async def lh_steps(ctx: WorkflowContext, steps: int) -> int:
    total = 0
    for n in range(steps):
        total += await lh_step(ctx, n)
    return total


async def test_outside_lock_holder_stalls_nothing(
    app: App, storage: Storage, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    sizes = profile().name
    hold = HOLD_SECONDS[sizes]
    assert storage.url.sqlite_path is not None
    caplog.set_level(logging.INFO, logger="romancy")
    async with loop_stall_meter() as stall:
        ids = [await app.start_workflow(lh_steps, STEPS) for _ in range(WORKFLOWS[sizes])]
        await asyncio.sleep(0.3)  # the workflows are mid-way when the lock is taken
        async with outside_writer(storage.url.sqlite_path, hold):
            pass  # leaving waits until the holder has released the lock
        results = [await app.wait_for_result(i, timeout=60) for i in ids]
    troubles = [r.getMessage() for r in caplog.records if any(t in r.getMessage() for t in TROUBLE)]
    max_stall_ms = round(stall.max_gap * 1000, 1)
    print(f"lock held {hold} s by another process: max event-loop gap {max_stall_ms} ms")
    record("sqlite_lock_holder", backend.name, hold_seconds=hold, max_loop_gap_ms=max_stall_ms)
    assert results == [sum(range(STEPS))] * len(ids)
    assert not troubles
    # The promise (100 ms) is checked when the test runs alone (long profile); beside the
    # rest of the suite on two cores, scheduling noise alone can exceed it.
    assert stall.max_gap < (0.1 if sizes == "long" else 0.5)
