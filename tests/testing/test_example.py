"""The worked example of docs/testing-your-workflows.md, verbatim: a user's test file."""

from datetime import timedelta

import romancy
from romancy.testing import replay, workflow_environment


@romancy.activity
async def send_reminder(ctx: romancy.WorkflowContext, email: str) -> str:
    raise RuntimeError("would send a real e-mail")


@romancy.workflow
async def trial_period(ctx: romancy.WorkflowContext, email: str) -> str:
    await romancy.sleep(ctx, timedelta(days=14))
    await send_reminder(ctx, email)
    await romancy.subscribe(ctx, "upgrades")
    try:
        await romancy.receive(ctx, "upgrades", timeout=timedelta(days=3))
    except romancy.ChannelMessageTimeoutError:
        return "expired"
    return "upgraded"


sent: list[str] = []


async def fake_reminder(ctx: romancy.WorkflowContext, email: str) -> str:
    sent.append(email)
    return "queued"


env = workflow_environment(activities={send_reminder: fake_reminder})


async def test_a_trial_without_upgrade_expires(env):
    instance_id = await env.start(trial_period, "ann@example.com")
    assert await env.result(instance_id) == "expired"  # 17 days, skipped
    assert sent == ["ann@example.com"]
    history = await env.history(instance_id)
    history.assert_activities("send_reminder")
    history.assert_step("send_reminder:1", result="queued")


async def test_an_upgrade_during_the_trial(env):
    instance_id = await env.start(trial_period, "bo@example.com")
    await env.settle()  # it sleeps now
    await env.skip(timedelta(days=14))  # the reminder goes out...
    await env.settle()  # ...and it waits for an upgrade, three days at most
    await env.publish("upgrades", {"plan": "pro"})
    assert await env.result(instance_id) == "upgraded"


async def test_recorded_histories_still_replay(env):
    instance_id = await env.start(trial_period, "cy@example.com")
    await env.result(instance_id)
    histories = await romancy.testing.load_histories(env.app.config.database, "trial_period")
    assert (await replay(trial_period, histories)).ok
