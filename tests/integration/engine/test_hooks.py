"""Every hook is called once per event, with the workflow name filled in."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

import romancy
from romancy import App, RetryPolicy, WorkflowContext, WorkflowHooks

from .helpers import make_timers_due, wait_for_status

attempts: Counter[str] = Counter()


class Recorder(WorkflowHooks):
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_"):

            async def record(info: Any) -> None:
                self.events.append((name, info))

            return record
        return super().__getattribute__(name)

    def count(self, instance_id: str) -> Counter[str]:
        return Counter(n for n, i in self.events if getattr(i, "instance_id", None) == instance_id)


RECORDER = Recorder()


@pytest.fixture
def app_options() -> dict[str, object]:
    return {"hooks": RECORDER}


@romancy.activity(retry_policy=RetryPolicy(3, 0.01, 0.01))
async def hk_step(ctx: WorkflowContext, key: str) -> str:
    attempts[key] += 1
    if attempts[key] == 1:
        raise ValueError("first attempt fails")
    return "done"


@hk_step.compensation
async def hk_undo(ctx: WorkflowContext, key: str) -> None:
    pass


@romancy.activity(retry_policy=RetryPolicy.no_retry())
async def hk_boom(ctx: WorkflowContext) -> None:
    raise RuntimeError("boom")


@romancy.workflow
async def hk_flow(ctx: WorkflowContext, key: str) -> str:
    result = await hk_step(ctx, key)
    await romancy.sleep(ctx, 3600)
    if key.startswith("fail"):
        await hk_boom(ctx)
    return result


async def test_hooks_of_a_replayed_workflow(app: App) -> None:
    instance_id = await app.start_workflow(hk_flow, f"ok-{id(app)}")
    await wait_for_status(app, instance_id, "waiting_for_timer")
    await make_timers_due(app, instance_id)
    assert await app.wait_for_result(instance_id, timeout=20) == "done"
    assert RECORDER.count(instance_id) == Counter(
        {
            "on_workflow_start": 1,
            "on_activity_start": 2,  # the first run, and the replay after the timer
            "on_activity_retry": 1,
            "on_activity_complete": 1,
            "on_activity_cache_hit": 1,
            "on_timer_start": 1,
            "on_timer_fired": 1,
            "on_workflow_suspend": 1,  # at the timer
            "on_workflow_resume": 1,  # after it
            "on_replay_start": 1,
            "on_replay_complete": 1,
            "on_workflow_complete": 1,
        }
    )
    mine = [
        info for _, info in RECORDER.events if getattr(info, "instance_id", None) == instance_id
    ]
    assert {info.workflow_name for info in mine} == {"hk_flow"}
    starts = [
        i.is_replay
        for n, i in RECORDER.events
        if n == "on_activity_start" and i.instance_id == instance_id
    ]
    assert starts == [False, True]
    (replayed,) = [i for n, i in RECORDER.events if n == "on_replay_complete" and i in mine]
    assert (replayed.cache_hits, replayed.new_activities) == (2, 0)  # the step, the timer


@romancy.workflow
async def hk_event_flow(ctx: WorkflowContext, event_type: str) -> str:
    await romancy.wait_event(ctx, event_type)
    await hk_step(ctx, event_type)  # the replay after the event runs this
    await romancy.sleep(ctx, 3600)  # and the replay after the timer reads the event again
    return "done"


async def test_an_event_wait_is_reported_once_across_replays(app: App) -> None:
    event_type = f"hk.approved.{id(app)}"
    instance_id = await app.start_workflow(hk_event_flow, event_type)
    await wait_for_status(app, instance_id, "waiting_for_message")
    event = romancy.CloudEvent(id="e-1", type=event_type, source="tests", data={})
    await romancy.ingest_cloudevent(app, event)
    await wait_for_status(app, instance_id, "waiting_for_timer")
    await make_timers_due(app, instance_id)
    assert await app.wait_for_result(instance_id, timeout=20) == "done"
    counts = RECORDER.count(instance_id)
    assert (counts["on_event_wait_start"], counts["on_event_wait_complete"]) == (1, 1)
    replays = [
        i for n, i in RECORDER.events if n == "on_replay_complete" and i.instance_id == instance_id
    ]
    assert [(i.cache_hits, i.new_activities) for i in replays] == [(3, 0)]


async def test_hooks_of_failure_and_cancel(app: App) -> None:
    failing = await app.start_workflow(hk_flow, f"fail-{id(app)}")
    await wait_for_status(app, failing, "waiting_for_timer")
    await make_timers_due(app, failing)
    with pytest.raises(romancy.WorkflowFailedError):
        await app.wait_for_result(failing, timeout=20)
    counts = RECORDER.count(failing)
    assert (counts["on_activity_failed"], counts["on_workflow_failed"]) == (1, 1)
    assert counts["on_workflow_complete"] == 0

    cancelled = await app.start_workflow(hk_flow, f"cancel-{id(app)}")
    await wait_for_status(app, cancelled, "waiting_for_timer")
    await app.cancel_workflow(cancelled, "enough")
    (info,) = [
        i for n, i in RECORDER.events if n == "on_workflow_cancelled" and i.instance_id == cancelled
    ]
    assert (info.workflow_name, info.reason) == ("hk_flow", "enough")


class Exploding(WorkflowHooks):
    async def on_activity_start(self, info: Any) -> None:
        raise RuntimeError("broken observability")


@romancy.workflow
async def hk_simple(ctx: WorkflowContext) -> str:
    return await hk_step(ctx, f"simple-{id(ctx)}")


async def test_a_failing_hook_does_not_break_the_workflow(storage: romancy.Storage) -> None:
    async with App(database=storage.url.original, hooks=Exploding()) as app:
        instance_id = await app.start_workflow(hk_simple)
        assert await app.wait_for_result(instance_id, timeout=20) == "done"
