"""Activities: ids, retries, timeouts, terminal errors, transactions, threads."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import pytest
from sqlalchemy import text

import romancy
from romancy import App, RetryPolicy, WorkflowContext

from .helpers import history, history_ids

attempts: Counter[str] = Counter()
FAST = RetryPolicy(max_attempts=3, initial_interval=0.01, max_interval=0.05)


@romancy.activity(retry_policy=FAST)
async def act_flaky(ctx: WorkflowContext, key: str, failures: int) -> str:
    attempts[key] += 1
    if attempts[key] <= failures:
        raise ConnectionError(f"attempt {attempts[key]} failed")
    return f"ok after {attempts[key]}"


@romancy.activity(retry_policy=FAST)
async def act_terminal(ctx: WorkflowContext, key: str) -> None:
    attempts[key] += 1
    raise romancy.TerminalError("card declined")


@romancy.activity(retry_policy=RetryPolicy.no_retry(), timeout=0.2)
async def act_slow(ctx: WorkflowContext) -> None:
    await asyncio.sleep(5)


@romancy.activity
def act_blocking(ctx: WorkflowContext, n: int) -> dict[str, int]:
    time.sleep(0.05)  # a plain function runs in a worker thread
    return {"n": n}


@romancy.activity
async def act_double(ctx: WorkflowContext, n: int) -> int:
    return n * 2


@romancy.workflow
async def wf_retries(ctx: WorkflowContext, spec: dict[str, int | str]) -> str:
    return await act_flaky(ctx, str(spec["key"]), int(spec["failures"]))


@romancy.workflow
async def wf_catch(ctx: WorkflowContext, key: str) -> str:
    try:
        await act_terminal(ctx, key)
    except romancy.TerminalError as error:
        return f"caught: {error}"
    return "unreachable"


@romancy.workflow
async def wf_timeout(ctx: WorkflowContext) -> str:
    try:
        await act_slow(ctx)
    except romancy.RetryExhaustedError as error:
        return str(error.last_error)
    return "unreachable"


@romancy.workflow
async def wf_ids(ctx: WorkflowContext) -> list[int]:
    first = await act_double(ctx, 1)
    pair = await asyncio.gather(
        act_double(ctx, 10, activity_id="double:left"),
        act_double(ctx, 20, activity_id="double:right"),
    )
    threaded = await act_blocking(ctx, 3)
    return [first, *pair, threaded["n"], await act_double(ctx, 2)]


@romancy.workflow
async def wf_conflict(ctx: WorkflowContext) -> None:
    await act_double(ctx, 1, activity_id="same")
    await act_double(ctx, 2, activity_id="same")


def unique(prefix: str) -> str:
    """Attempt counters are per process: every test run counts under its own key."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_retries_until_success(app: App) -> None:
    key = unique("r1")
    instance_id = await app.start_workflow(wf_retries, {"key": key, "failures": 2})
    assert await app.wait_for_result(instance_id, timeout=20) == "ok after 3"
    assert attempts[key] == 3
    assert await history_ids(app, instance_id) == ["act_flaky:1"]


async def test_retry_exhausted(app: App) -> None:
    key = unique("r2")
    instance_id = await app.start_workflow(wf_retries, {"key": key, "failures": 5})
    with pytest.raises(romancy.WorkflowFailedError) as info:
        await app.wait_for_result(instance_id, timeout=20)
    assert info.value.error_type == "RetryExhaustedError"
    assert "after 3 attempts: ConnectionError: attempt 3 failed" in info.value.error_message
    assert attempts[key] == 3
    (failed, workflow_failed) = await history(app, instance_id)
    assert (failed.event_type, workflow_failed.activity_id) == ("ActivityFailed", "workflow_failed")


async def test_terminal_error_is_not_retried_and_can_be_caught(app: App) -> None:
    key = unique("t1")
    instance_id = await app.start_workflow(wf_catch, key)
    assert await app.wait_for_result(instance_id, timeout=20) == "caught: card declined"
    assert attempts[key] == 1


async def test_per_attempt_timeout(app: App) -> None:
    instance_id = await app.start_workflow(wf_timeout)
    assert "exceeded its 0.2 s timeout" in await app.wait_for_result(instance_id, timeout=20)


async def test_activity_ids_and_concurrency(app: App) -> None:
    instance_id = await app.start_workflow(wf_ids)
    assert await app.wait_for_result(instance_id, timeout=20) == [2, 20, 40, 3, 4]
    assert sorted(await history_ids(app, instance_id)) == sorted(
        ["act_double:1", "double:left", "double:right", "act_blocking:1", "act_double:2"]
    )


async def test_duplicate_explicit_id_is_an_error(app: App) -> None:
    instance_id = await app.start_workflow(wf_conflict)
    with pytest.raises(romancy.WorkflowFailedError, match="activity ID conflict: 'same'"):
        await app.wait_for_result(instance_id, timeout=20)


# --------------------------------------------------------------------- transactions


@romancy.activity(retry_policy=FAST)
async def act_insert(ctx: WorkflowContext, key: str, fail_after_insert: bool) -> int:
    await ctx.session.execute(text("INSERT INTO app_ledger (entry) VALUES (:e)"), {"e": key})
    attempts[key] += 1
    if fail_after_insert and attempts[key] < 3:
        raise RuntimeError("failed after writing")
    return attempts[key]


@romancy.activity(transactional=False)
async def act_outside(ctx: WorkflowContext) -> str:
    with pytest.raises(romancy.RomancyError, match="only available inside an activity"):
        ctx.session  # noqa: B018 - non-transactional activities have no session
    return "no session"


@romancy.workflow
async def wf_ledger(ctx: WorkflowContext, key: str) -> int:
    await act_outside(ctx)
    return await act_insert(ctx, key, True)


async def test_activity_sql_commits_with_its_step_and_rolls_back_with_failed_attempts(
    app: App,
) -> None:
    async with app.storage.transaction() as tx:
        await tx.connection.execute(
            text("CREATE TABLE IF NOT EXISTS app_ledger (entry VARCHAR(64))")
        )
    try:
        key = unique("tx1")
        instance_id = await app.start_workflow(wf_ledger, key)
        assert await app.wait_for_result(instance_id, timeout=20) == 3
        async with app.storage.transaction() as tx:
            entries = (await tx.connection.scalars(text("SELECT entry FROM app_ledger"))).all()
        assert entries == [key]  # two failed attempts rolled back their inserts
    finally:
        async with app.storage.transaction() as tx:
            await tx.connection.execute(text("DROP TABLE app_ledger"))


async def test_session_outside_activity(app: App) -> None:
    ctx = romancy.WorkflowContext(
        runtime=app.engine,
        instance_id="x",
        workflow_name="w",
        log=romancy.engine.replay.ReplayLog([]),
    )
    with pytest.raises(romancy.RomancyError, match="only available inside an activity"):
        ctx.session  # noqa: B018
