"""Workflows the OpenTelemetry tests run (the crash test's child process defines them too,
by importing this module)."""

from __future__ import annotations

from collections import Counter

import romancy
from romancy import RetryPolicy, WorkflowContext

attempts: Counter[str] = Counter()


@romancy.activity(retry_policy=RetryPolicy(3, 0.01, 0.01))
async def otel_flaky(ctx: WorkflowContext, key: str) -> str:
    """Fails on its first attempt for each key, then succeeds."""
    attempts[key] += 1
    if attempts[key] == 1:
        raise ValueError(f"first attempt of {key} fails")
    return f"done {key}"


@romancy.activity(retry_policy=RetryPolicy.no_retry())
async def otel_broken(ctx: WorkflowContext) -> None:
    raise RuntimeError("broken for good")


@romancy.workflow
async def otel_sleeper(ctx: WorkflowContext, key: str) -> str:
    """A retried activity, a durable timer, completion."""
    result = await otel_flaky(ctx, key)
    await romancy.sleep(ctx, 1)
    return result


@romancy.workflow
async def otel_waiter(ctx: WorkflowContext, event_type: str) -> str:
    """An activity, then a wait for an event: the run after the event replays the step."""
    result = await otel_flaky(ctx, event_type)
    await romancy.wait_event(ctx, event_type)
    return result


@romancy.workflow
async def otel_failing(ctx: WorkflowContext) -> None:
    await otel_broken(ctx)


@romancy.workflow
async def otel_quick(ctx: WorkflowContext, key: str) -> str:
    return await otel_flaky(ctx, key)


@romancy.workflow
async def otel_looper(ctx: WorkflowContext, spec: dict[str, object]) -> str:
    """Recurs ``rounds`` times, then waits for ``event``."""
    rounds = int(str(spec["rounds"]))
    if rounds > 0:
        return await romancy.recur(ctx, {**spec, "rounds": rounds - 1})
    await romancy.wait_event(ctx, str(spec["event"]))
    return "looped"


@romancy.workflow
async def otel_squatter(ctx: WorkflowContext, key: str) -> str:
    """Gives a step the id romancy keeps its hooks' context under."""
    return await otel_flaky(ctx, key, activity_id="romancy.carried")
