"""WorkflowEnvironment: skipping time, fake activities, injected messages and events,
history assertions — on every backend (the environment runs on the test database)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

import romancy
from romancy import ChannelMessageTimeoutError, EventTimeoutError, WorkflowContext
from romancy.storage import Storage
from romancy.testing import WorkflowEnvironment
from romancy.wire.status import InstanceStatus


@pytest.fixture
async def env(storage: Storage) -> AsyncIterator[WorkflowEnvironment]:
    async with WorkflowEnvironment(storage.url.original) as environment:
        yield environment


@romancy.activity
async def tk_charge_card(ctx: WorkflowContext, amount: int) -> str:
    raise AssertionError("the real card must not be charged in a test")


@romancy.workflow
async def tk_nap(ctx: WorkflowContext, hours: int) -> str:
    await romancy.sleep(ctx, timedelta(hours=hours))
    return "rested"


@romancy.workflow
async def tk_two_naps(ctx: WorkflowContext) -> str:
    await romancy.sleep(ctx, timedelta(hours=1))
    await romancy.sleep(ctx, timedelta(hours=3))
    return "done"


@romancy.workflow
async def tk_wait_reply(ctx: WorkflowContext) -> str:
    await romancy.subscribe(ctx, "tk-replies")
    try:
        message = await romancy.receive(ctx, "tk-replies", timeout=timedelta(hours=2))
    except ChannelMessageTimeoutError:
        return "no reply"
    return str(message.data["text"])


@romancy.workflow
async def tk_wait_payment(ctx: WorkflowContext) -> str:
    try:
        event = await romancy.wait_event(ctx, "tk.payment", timeout=timedelta(days=1))
    except EventTimeoutError:
        return "expired"
    return f"paid {event.data['amount']}"


@romancy.workflow
async def tk_checkout(ctx: WorkflowContext, amount: int) -> str:
    receipt = await tk_charge_card(ctx, amount)
    await romancy.sleep(ctx, timedelta(minutes=30))
    return receipt


async def test_a_one_hour_sleep_is_tested_in_well_under_a_second(
    env: WorkflowEnvironment,
) -> None:
    started = time.monotonic()
    assert await env.execute(tk_nap, 1) == "rested"
    assert time.monotonic() - started < 5  # typically ~0.1 s: the hour was skipped


async def test_skip_fires_deadlines_within_the_span_and_brings_later_ones_closer(
    env: WorkflowEnvironment,
) -> None:
    instance_id = await env.start(tk_two_naps)
    await _wait_status(env, instance_id, InstanceStatus.WAITING_FOR_TIMER)
    await env.skip(timedelta(hours=1))
    await _wait_history(env, instance_id, ["sleep:1"])
    await _wait_status(env, instance_id, InstanceStatus.WAITING_FOR_TIMER)
    await env.skip(timedelta(hours=2, minutes=59))  # a minute short of the second nap
    assert (await env.app.get_instance(instance_id)).status == InstanceStatus.WAITING_FOR_TIMER
    await env.skip(timedelta(minutes=1))
    assert await env.app.wait_for_result(instance_id, timeout=10) == "done"


async def test_a_receive_timeout_is_skipped(env: WorkflowEnvironment) -> None:
    instance_id = await env.start(tk_wait_reply)
    assert await env.result(instance_id) == "no reply"
    (await env.history(instance_id)).assert_step(
        "receive_tk-replies:1", event_type="MessageTimeout"
    )


async def test_an_injected_message_is_received(env: WorkflowEnvironment) -> None:
    instance_id = await env.start(tk_wait_reply)
    await _wait_status(env, instance_id, InstanceStatus.WAITING_FOR_MESSAGE)
    await env.publish("tk-replies", {"text": "hello"})
    assert await env.result(instance_id) == "hello"


async def test_an_injected_cloudevent_is_received(env: WorkflowEnvironment) -> None:
    instance_id = await env.start(tk_wait_payment)
    await _wait_status(env, instance_id, InstanceStatus.WAITING_FOR_MESSAGE)
    await env.send_event("tk.payment", {"amount": 42})
    assert await env.result(instance_id) == "paid 42"


async def test_a_fake_activity_runs_instead_and_is_recorded_like_the_real_one(
    env: WorkflowEnvironment,
) -> None:
    calls: list[int] = []

    async def fake_charge(ctx: WorkflowContext, amount: int) -> str:
        calls.append(amount)
        return f"receipt-{amount}"

    env.replace(tk_charge_card, fake_charge)
    assert await env.execute(tk_checkout, 30) == "receipt-30"
    assert calls == [30]  # replayed after the timer from history, not called again
    history = await env.history((await env.app.find_instances())[0].instance_id)
    history.assert_activities("tk_charge_card")
    history.assert_step("tk_charge_card:1", event_type="ActivityCompleted", result="receipt-30")
    assert history.step_ids == ["tk_charge_card:1", "sleep:1"]


async def test_history_assertions_say_what_was_recorded(env: WorkflowEnvironment) -> None:
    instance_id = await env.start(tk_nap, 2)
    await env.result(instance_id)
    history = await env.history(instance_id)
    with pytest.raises(AssertionError, match=r"no step 'sleep:2'.*\['sleep:1'\]"):
        history.step("sleep:2")
    with pytest.raises(AssertionError, match="activities ran: \\[\\], expected \\['x'\\]"):
        history.assert_activities("x")
    with pytest.raises(AssertionError, match="recorded TimerExpired, expected ActivityFailed"):
        history.assert_step("sleep:1", event_type="ActivityFailed")


async def test_fakes_given_up_front_and_bad_input(storage: Storage) -> None:
    async def fake_charge(ctx: WorkflowContext, amount: int) -> str:
        return "free"

    fakes = {tk_charge_card: fake_charge}
    async with WorkflowEnvironment(storage.url.original, activities=fakes) as env:
        assert await env.execute(tk_checkout, 5) == "free"
        with pytest.raises(romancy.InvalidValueError, match="skip needs a span"):
            await env.skip(-1)
        with pytest.raises(romancy.InvalidValueError, match="a fake replaces an activity"):
            env.replace(tk_charge_card, "not a function")  # type: ignore[arg-type]


async def _wait_status(env: WorkflowEnvironment, instance_id: str, status: str) -> None:
    deadline = time.monotonic() + 10
    while (await env.app.get_instance(instance_id)).status != status:
        assert time.monotonic() < deadline, f"{instance_id} never reached {status}"
        await asyncio.sleep(0.02)


async def _wait_history(env: WorkflowEnvironment, instance_id: str, steps: list[str]) -> None:
    deadline = time.monotonic() + 10
    while (await env.history(instance_id)).step_ids != steps:
        assert time.monotonic() < deadline, f"{instance_id} never recorded {steps}"
        await asyncio.sleep(0.02)
