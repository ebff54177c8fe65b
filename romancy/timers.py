"""Durable timers: ``sleep`` and ``sleep_until``.

A sleeping workflow holds no lock and no memory: its timer is a row in
``workflow_timer_subscriptions``; when it expires the leader records it and the workflow
resumes (on any worker) from its history. Timer ids are Go Romancy's: ``sleep:1``,
``sleep:2``, … per workflow run, or the explicit ``timer_id``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from romancy import durations
from romancy import hooks as h
from romancy.engine._context import WorkflowContext
from romancy.engine.signals import TimerSuspend
from romancy.serialization import ceil_second


async def sleep(
    ctx: WorkflowContext, duration: float | timedelta, *, timer_id: str | None = None
) -> None:
    """Suspend the workflow for ``duration`` (seconds or a timedelta)."""
    seconds = durations.seconds(duration)
    await _wait(ctx, timer_id, lambda now: now + timedelta(seconds=seconds))


async def sleep_until(ctx: WorkflowContext, when: datetime, *, timer_id: str | None = None) -> None:
    """Suspend the workflow until ``when`` (an aware datetime); past times return at once."""
    if when.tzinfo is None:
        raise ValueError("sleep_until needs an aware datetime (e.g. datetime.now(UTC) + ...)")
    await _wait(ctx, timer_id, lambda _now: when)


async def _wait(
    ctx: WorkflowContext, timer_id: str | None, deadline: Callable[[datetime], datetime]
) -> None:
    step = ctx.begin_step("sleep", timer_id)
    if step.replayed:
        return  # the timer fired before this replay
    now = datetime.now(UTC)
    expires_at = deadline(now)
    if expires_at <= now:
        return  # nothing to wait for; replaying returns here too
    step.ensure_new_allowed()
    expires_at = ceil_second(expires_at)  # so a timer never fires early
    await h.emit(
        ctx.hooks.on_timer_start,
        h.TimerStartInfo(ctx.instance_id, ctx.workflow_name, step.id, expires_at),
    )
    raise TimerSuspend(step.id, expires_at)
