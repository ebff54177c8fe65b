"""An activity that outlives its lease many times over, beside a second, leading worker.

The running worker renews the lease every 0.8 s; the other worker sweeps expired locks
every 0.3 s and resumes whatever it finds. Without renewal the lease would expire after
~3 s (2.4 s, rounded up to whole seconds) and the second worker would run the activity
again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

import pytest

import romancy
from romancy import App, WorkflowContext
from romancy.storage import Storage
from tests.support.chaos import profile, record
from tests.support.fixtures import FAST_OPTIONS, Backend

LEASE = 2.4  # renewed every LEASE / 3 s
ran_on: Counter[str] = Counter()


@romancy.activity
async def long_step(ctx: WorkflowContext, seconds: float) -> str:
    ran_on[ctx.worker_id] += 1
    await asyncio.sleep(seconds)
    return "done"


@romancy.workflow
async def long_flow(ctx: WorkflowContext, seconds: float) -> str:
    return await long_step(ctx, seconds)


async def test_long_activity_keeps_its_lease(
    storage: Storage, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="romancy")
    ran_on.clear()  # one count per backend's run
    seconds = profile().long_activity_seconds
    url = storage.url.original
    options: dict[str, Any] = {
        **FAST_OPTIONS,
        "stale_lock_timeout": LEASE,
        "stale_lock_interval": 0.3,
    }
    watcher = App(database=url, worker_id="watcher", **options)
    runner = App(database=url, worker_id="runner", **options)
    watcher.register_workflow(long_flow)
    await watcher.start()
    try:
        for _ in range(600):  # the watcher leads: it is the one sweeping expired locks
            if watcher.is_leader:
                break
            await asyncio.sleep(0.05)
        assert watcher.is_leader
        await runner.start()
        try:
            began = time.monotonic()
            instance_id = await runner.start_workflow(long_flow, seconds)
            holders: set[str | None] = set()
            while (instance := await storage.instances.get_instance(instance_id)) is not None:
                if instance.status == "completed":
                    break
                holders.add(instance.locked_by)
                assert time.monotonic() - began < seconds + 60, instance
                await asyncio.sleep(0.1)
            elapsed = time.monotonic() - began
            assert await runner.wait_for_result(instance_id, timeout=30) == "done"
        finally:
            await runner.shutdown()
    finally:
        await watcher.shutdown()
    taken = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    record(
        "long_activity",
        backend.name,
        activity_seconds=seconds,
        lease_seconds=LEASE,
        executions=sum(ran_on.values()),
        lease_warnings=len(taken),
        elapsed_seconds=round(elapsed, 2),
    )
    assert ran_on == Counter({"runner": 1})  # exactly once, on the worker that started it
    assert holders == {"runner"}  # the watcher never held the instance
    assert taken == []  # no "lock lost", no "released the expired lock"
    assert len(await storage.history.load_history(instance_id)) == 1
