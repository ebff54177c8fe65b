"""Timers, replay after a wait, and the determinism guard."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

import romancy
from romancy import App, WorkflowContext
from romancy.serialization import loads
from tests.support.fixtures import FAST_OPTIONS

from .helpers import history, make_timers_due, wait_for_activity, wait_for_status

executions: Counter[str] = Counter()


@romancy.activity
async def rp_step(ctx: WorkflowContext, label: str) -> str:
    executions[f"{ctx.instance_id}:{label}"] += 1
    return label.upper()


@romancy.workflow
async def rp_sleepy(ctx: WorkflowContext, seconds: float) -> list[str]:
    first = await rp_step(ctx, "a")
    await romancy.sleep(ctx, seconds)
    second = await rp_step(ctx, "b")
    await romancy.sleep(ctx, seconds, timer_id="custom-wait")
    await romancy.sleep_until(ctx, datetime(2000, 1, 1, tzinfo=UTC))  # past: no wait
    return [first, second, str(ctx.is_replaying)]


async def test_sleep_suspends_and_replay_skips_done_steps(app: App) -> None:
    instance_id = await app.start_workflow(rp_sleepy, 3600)
    await wait_for_status(app, instance_id, "waiting_for_timer")
    instance = await app.get_instance(instance_id)
    assert (instance.current_activity_id, instance.locked_by) == ("sleep:1", None)
    await make_timers_due(app, instance_id)
    await wait_for_activity(app, instance_id, "custom-wait")
    await make_timers_due(app, instance_id)
    assert await app.wait_for_result(instance_id, timeout=20) == ["A", "B", "False"]
    assert executions[f"{instance_id}:a"] == 1 and executions[f"{instance_id}:b"] == 1
    rows = await history(app, instance_id)
    assert [(r.activity_id, r.event_type) for r in rows] == [
        ("rp_step:1", "ActivityCompleted"),
        ("sleep:1", "TimerExpired"),
        ("rp_step:2", "ActivityCompleted"),
        ("custom-wait", "TimerExpired"),
    ]
    assert loads(rows[1].event_data)["timer_id"] == "sleep:1"


async def test_short_sleep_fires_without_help(app: App) -> None:
    started = datetime.now(UTC)
    instance_id = await app.start_workflow(rp_sleepy, 1)
    assert (await app.wait_for_result(instance_id, timeout=20))[:2] == ["A", "B"]
    assert datetime.now(UTC) - started < timedelta(seconds=8)


async def test_sleep_until_needs_an_aware_time(app: App) -> None:
    instance_id = await app.start_workflow(rp_naive)
    with pytest.raises(romancy.WorkflowFailedError, match="aware datetime"):
        await app.wait_for_result(instance_id, timeout=20)


@romancy.workflow
async def rp_naive(ctx: WorkflowContext) -> None:
    await romancy.sleep_until(ctx, datetime(2030, 1, 1))


# -------------------------------------------------------------------- determinism


@romancy.activity
async def rp_charge(ctx: WorkflowContext) -> str:
    return "charged"


@romancy.activity
async def rp_refund(ctx: WorkflowContext) -> str:
    return "refunded"


async def rp_v1(ctx: WorkflowContext) -> str:
    await rp_charge(ctx)
    await romancy.sleep(ctx, 3600)
    return "v1"


async def rp_v2(ctx: WorkflowContext) -> str:
    await rp_refund(ctx)  # the recorded history says rp_charge ran here
    await romancy.sleep(ctx, 3600)
    return "v2"


async def rp_v3(ctx: WorkflowContext) -> str:
    await rp_refund(ctx, activity_id="rp_charge:1")  # same id, another activity
    await romancy.sleep(ctx, 3600)
    return "v3"


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        (rp_v2, "reached step 'rp_refund:1', which its history does not record"),
        (rp_v3, "history records activity 'rp_charge' under id 'rp_charge:1'"),
    ],
)
async def test_changed_code_fails_with_a_determinism_error(
    app: App, changed: object, message: str
) -> None:
    name = f"rp_det_{changed.__name__}"  # type: ignore[attr-defined]
    original = romancy.define_workflow(name, rp_v1)
    app.register_workflow(original)
    instance_id = await app.start_workflow(original)
    await wait_for_status(app, instance_id, "waiting_for_timer")
    await app.shutdown()  # the next deploy runs the changed code under the same name
    deployed = App(database=app.config.database, **FAST_OPTIONS)
    deployed.register_workflow(romancy.Workflow(name, changed))  # type: ignore[arg-type]
    await deployed.start()
    try:
        await make_timers_due(deployed, instance_id)
        with pytest.raises(romancy.WorkflowFailedError) as info:
            await deployed.wait_for_result(instance_id, timeout=20)
    finally:
        await deployed.shutdown()
    assert info.value.error_type == "NonDeterminismError"
    assert message in info.value.error_message


# ------------------------------------------------------------------------- recur


@romancy.activity
async def rp_count(ctx: WorkflowContext, n: int) -> int:
    return n + 1


@romancy.workflow
async def rp_counter(ctx: WorkflowContext, state: dict[str, int]) -> dict[str, int]:
    n = await rp_count(ctx, state["n"])
    if n == 1:  # only the first run subscribes and joins: recur must not carry them over
        await romancy.subscribe(ctx, "rp-news")
        await romancy.join_group(ctx, "rp-group")
    if n == 4:
        assert await romancy.get_group_members(ctx.app, "rp-group") == []
        assert await ctx.storage.channels.subscription(ctx.instance_id, "rp-news") is None
    if n < 4:
        return await romancy.recur(ctx, {"n": n, "runs": state.get("runs", 0) + 1})
    return {"n": n, "runs": state["runs"] + 1}


async def test_recur_keeps_the_id_archives_history_and_uses_the_new_input(app: App) -> None:
    from sqlalchemy import func, select

    from romancy.storage.tables import workflow_history_archive as archive

    instance_id = await app.start_workflow(rp_counter, {"n": 0})
    assert await app.wait_for_result(instance_id, timeout=20) == {"n": 4, "runs": 4}
    instance = await app.get_instance(instance_id)
    assert loads(instance.input_data) == {"n": 3, "runs": 3}
    assert [r.activity_id for r in await history(app, instance_id)] == ["rp_count:1"]
    async with app.storage.transaction(read_only=True) as tx:
        archived = await tx.connection.scalar(
            select(func.count()).select_from(archive).where(archive.c.instance_id == instance_id)
        )
    assert archived == 3
