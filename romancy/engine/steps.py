"""Writes that workflow code makes exactly once: ``publish``, ``send_to``, ``send_event``.

Inside an activity such a write is part of the activity — in its transaction, or in a
transaction of its own for a non-transactional activity — and never a step of its own:
replay does not run activities again, so a step recorded there would be met by nothing.
From workflow code it is a recorded step, written in the same transaction as its row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from romancy.engine.session import current_session, inside_activity
from romancy.storage import Storage, Transaction
from romancy.wire import history as wire

if TYPE_CHECKING:
    from romancy.engine._context import WorkflowContext

Write = Callable[[Transaction], Awaitable[str]]
AfterCommit = Callable[[], Awaitable[None]]


async def write_once(
    ctx: WorkflowContext, step_name: str, kind: str, write: Write, after: AfterCommit | None
) -> str:
    """Run ``write`` once for the workflow; its text result (an id) is what replay returns.

    ``after`` runs once the write has committed (wake-ups must not run before others can
    see what was written). ``kind`` names the step in its history row.
    """
    if inside_activity():
        return await _in_activity_transaction(ctx.storage, write, after)
    step = ctx.begin_step(step_name)
    if step.replayed:
        return str(step.result)
    step.ensure_new_allowed()
    async with ctx.storage.transaction() as tx:
        value = await write(tx)
        await step.record(wire.ACTIVITY_COMPLETED, wire.activity_completed(kind, value), tx=tx)
    if after is not None:
        await after()
    return value


async def _in_activity_transaction(
    storage: Storage, write: Write, after: AfterCommit | None
) -> str:
    """``write`` in the running activity's transaction (a transaction of its own when the
    activity is not transactional); ``after`` once that commits."""
    session = current_session.get()
    if session is None:
        async with storage.transaction() as tx:
            value = await write(tx)
        if after is not None:
            await after()
        return value
    value = await write(Transaction(await session.connection()))
    if after is not None:
        session.after_commit(after)
    return value
