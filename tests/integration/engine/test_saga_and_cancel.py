"""Compensations on failure and on cancel; cancellation in every state."""

from __future__ import annotations

import asyncio

import pytest

import romancy
from romancy import App, WorkflowContext
from romancy.engine.compensation import run_compensations
from romancy.serialization import loads

from .helpers import eventually, history, wait_for_status

log: list[tuple[str, str, str]] = []


def _entries(instance_id: str) -> list[tuple[str, str]]:
    return [(kind, item) for iid, kind, item in log if iid == instance_id]


@romancy.activity
async def sg_book(ctx: WorkflowContext, item: str, nights: int = 1) -> str:
    log.append((ctx.instance_id, "book", item))
    return f"{item}-{nights}"


@sg_book.compensation
async def sg_unbook(ctx: WorkflowContext, item: str, nights: int = 1) -> None:
    log.append((ctx.instance_id, "unbook", f"{item}-{nights}"))


@romancy.activity
async def sg_pay(ctx: WorkflowContext, amount: int) -> None:
    raise romancy.TerminalError(f"payment of {amount} refused")


@romancy.workflow
async def sg_trip(ctx: WorkflowContext, pay: bool) -> list[str]:
    booked = [await sg_book(ctx, "flight"), await sg_book(ctx, "hotel", nights=3)]
    if pay:
        await sg_pay(ctx, 100)
    await romancy.sleep(ctx, 3600)
    booked.append(await sg_book(ctx, "car"))
    return booked


@romancy.activity
async def sg_slow(ctx: WorkflowContext) -> None:
    log.append((ctx.instance_id, "slow", "started"))
    await asyncio.sleep(60)


@romancy.workflow
async def sg_busy(ctx: WorkflowContext) -> None:
    await sg_book(ctx, "seat")
    await sg_slow(ctx)


async def test_failure_runs_compensations_in_reverse(app: App) -> None:
    instance_id = await app.start_workflow(sg_trip, True)
    with pytest.raises(romancy.WorkflowFailedError, match="payment of 100 refused"):
        await app.wait_for_result(instance_id, timeout=20)
    assert _entries(instance_id) == [
        ("book", "flight"),
        ("book", "hotel"),
        ("unbook", "hotel-3"),
        ("unbook", "flight-1"),
    ]
    rows = [(r.activity_id, r.event_type) for r in await history(app, instance_id)]
    assert rows[-3:] == [
        ("workflow_failed", "WorkflowFailed"),
        (rows[-2][0], "CompensationExecuted"),
        (rows[-1][0], "CompensationExecuted"),
    ]
    assert all(a.startswith("compensation:") for a, _ in rows[-2:])
    # A second pass (say, after a crash) skips what is recorded: nothing runs twice.
    assert await run_compensations(app.engine, instance_id, "sg_trip") == 0
    assert len(_entries(instance_id)) == 4


async def test_cancel_a_waiting_workflow(app: App) -> None:
    instance_id = await app.start_workflow(sg_trip, False)
    await wait_for_status(app, instance_id, "waiting_for_timer")
    await app.cancel_workflow(instance_id, "customer changed plans")
    instance = await app.get_instance(instance_id)
    assert (instance.status, instance.locked_by) == ("cancelled", None)
    assert loads(instance.output_data) == {"reason": "customer changed plans"}
    assert _entries(instance_id)[-2:] == [("unbook", "hotel-3"), ("unbook", "flight-1")]
    assert await app.storage.history.find_due_timers("romancy-py", limit=10) == []
    with pytest.raises(romancy.WorkflowCancelledError, match="customer changed plans"):
        await app.wait_for_result(instance_id, timeout=5)
    await app.cancel_workflow(instance_id, "again")  # idempotent
    assert len(_entries(instance_id)) == 4


async def test_a_cancellation_cut_short_is_finished_by_a_worker(app: App) -> None:
    instance_id = await app.start_workflow(sg_trip, False)
    await wait_for_status(app, instance_id, "waiting_for_timer")
    # What a canceller that died right after recording the cancellation leaves behind.
    assert await app.engine.mark_cancelled(instance_id, "canceller crashed")
    await eventually(
        lambda: _entries(instance_id)[-2:] == [("unbook", "hotel-3"), ("unbook", "flight-1")]
    )
    with pytest.raises(romancy.WorkflowCancelledError, match="canceller crashed"):
        await app.wait_for_result(instance_id, timeout=10)
    instance = await app.get_instance(instance_id)
    assert (instance.status, instance.locked_by) == ("cancelled", None)
    assert loads(instance.output_data) == {"reason": "canceller crashed"}


async def test_cancel_while_an_activity_runs_here(app: App) -> None:
    instance_id = await app.start_workflow(sg_busy)
    await wait_for_activity_started(instance_id)
    await app.cancel_workflow(instance_id, "stop")
    assert (await app.get_instance(instance_id)).status == "cancelled"
    assert _entries(instance_id) == [("book", "seat"), ("slow", "started"), ("unbook", "seat-1")]


async def test_cancel_errors(app: App) -> None:
    with pytest.raises(romancy.WorkflowNotFoundError):
        await app.cancel_workflow("no-such-instance")
    instance_id = await app.start_workflow(sg_book_only)
    await app.wait_for_result(instance_id, timeout=20)
    with pytest.raises(romancy.WorkflowNotCancellableError, match="completed"):
        await app.cancel_workflow(instance_id)


@romancy.workflow
async def sg_book_only(ctx: WorkflowContext) -> str:
    return await sg_book(ctx, "ticket")


async def test_cancel_requested_by_another_worker(app: App, storage: romancy.Storage) -> None:
    # A second App on the same database cancels an instance the first one is running.
    instance_id = await app.start_workflow(sg_busy)
    await wait_for_activity_started(instance_id)
    other = romancy.App(database=storage.url.original, stale_lock_timeout=3)
    await other.start()
    try:
        await other.cancel_workflow(instance_id, "from elsewhere")
    finally:
        await other.shutdown()
    # The owner notices at its next lease renewal (every stale_lock_timeout/3, max 10 s),
    # compensates and releases the lock.
    for _ in range(300):
        instance = await app.get_instance(instance_id)
        if instance.locked_by is None:
            break
        await asyncio.sleep(0.1)
    assert (instance.status, instance.locked_by) == ("cancelled", None)
    assert ("unbook", "seat-1") in _entries(instance_id)


async def wait_for_activity_started(instance_id: str) -> None:
    await eventually(lambda: ("slow", "started") in _entries(instance_id))


@romancy.workflow
async def sg_nap(ctx: WorkflowContext) -> str:
    await romancy.sleep(ctx, 3600)
    return "woke"


async def test_a_cancel_right_after_the_start_is_never_lost(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    # The cancel reaches the local run while it is inside a database call; a driver may
    # turn the cancellation into an error of its own (aiomysql: "Cancelled during
    # execution"), which must stop the run, not be retried as an outage. Or it reaches the
    # run while it gives its lock back to wait: then the wait is cancelled, without a crash.
    ids = []
    for _ in range(12):
        instance_id = await app.start_workflow(sg_nap)
        await app.cancel_workflow(instance_id, "changed my mind")
        ids.append(instance_id)
    statuses = [(await app.get_instance(i)).status for i in ids]
    assert statuses == ["cancelled"] * len(ids)
    crashed = [r.getMessage() for r in caplog.records if r.name.startswith("romancy")]
    assert not [m for m in crashed if "crashed" in m or "will retry" in m], crashed
