"""Running an instance's compensations (saga rollback), each recorded exactly once.

Compensations run most recent first. Each one's outcome is a history row keyed
``compensation:<id>``, written in the same transaction as whatever the compensation did
through ``ctx.session``; a compensation whose row exists is skipped, so a crash during
rollback neither skips one nor repeats a recorded one.
"""

from __future__ import annotations

import logging

from romancy.engine._context import WorkflowContext
from romancy.engine.definitions import call_maybe_async, decode_arguments, find_activity
from romancy.engine.replay import ReplayLog
from romancy.engine.runtime import Runtime
from romancy.engine.session import activity_scope
from romancy.engine.transitions import append_row
from romancy.errors import RomancyError
from romancy.serialization import loads
from romancy.storage import ActivitySession, CompensationRecord
from romancy.wire import history as wire

log = logging.getLogger("romancy.compensation")


async def run_compensations(runtime: Runtime, instance_id: str, workflow_name: str) -> int:
    """Run every compensation of ``instance_id`` not yet recorded; returns how many ran."""
    storage = runtime.storage
    done = {
        r.activity_id
        for r in await storage.history.load_history(instance_id)
        if wire.is_compensation_record(r.activity_id)
    }
    ran = 0
    for compensation in await storage.history.list_compensations(instance_id):
        key = wire.compensation_activity_id(compensation.id)
        if key in done:
            continue
        ctx = WorkflowContext(
            runtime=runtime, instance_id=instance_id, workflow_name=workflow_name, log=ReplayLog([])
        )
        await _run_one(ctx, compensation, key)
        ran += 1
    return ran


async def _run_one(ctx: WorkflowContext, compensation: CompensationRecord, key: str) -> None:
    storage = ctx.storage
    session = ActivitySession(storage)
    error: Exception | None = None
    with activity_scope(session):
        try:
            activity = find_activity(compensation.activity_name)
            if activity is None or activity.compensation_fn is None:
                raise RomancyError(
                    f"no compensation is defined in this process for activity "
                    f"{compensation.activity_name!r}"
                )
            args, kwargs = decode_arguments(activity.compensation_fn, loads(compensation.args))
            await call_maybe_async(activity.compensation_fn, ctx, *args, **kwargs)
        except Exception as exc:
            error = exc
            await session.rollback()
            log.warning(
                "compensation %s of instance %s failed: %s",
                key,
                ctx.instance_id,
                exc,
                exc_info=True,
            )
    row = wire.compensation_outcome(
        compensation.id, compensation.activity_id, compensation.activity_name, error
    )
    if error is None:
        async with session.commit_scope() as tx:
            await append_row(storage, ctx.instance_id, row, tx=tx)
    else:
        await append_row(storage, ctx.instance_id, row)
