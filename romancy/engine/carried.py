"""What the App's hooks carry from one run of an instance to the next.

``WorkflowHooks.carried_context`` is asked once, when an instance first runs; its
strings are kept as the instance's ``romancy.carried`` history row (``wire.history``)
and handed back to ``on_workflow_resume`` by every later run, on any worker. The
engine never looks inside them (``romancy.otel`` keeps the W3C trace context there).
"""

from __future__ import annotations

import logging

from romancy import hooks as h
from romancy.engine.runtime import RunHost
from romancy.engine.transitions import append_row
from romancy.limits import TEXT_MAX_BYTES
from romancy.storage import HistoryRecord, Storage, Transaction
from romancy.wire import history as wire

log = logging.getLogger("romancy.hooks")


async def begin_run(
    host: RunHost,
    instance_id: str,
    workflow_name: str,
    history: list[HistoryRecord],
    resumed: bool,
    ending: bool,
) -> dict[str, str]:
    """Report a resumed run to the hooks; when nothing is carried yet and the run will
    execute code (it is not just ``ending`` a cancel or rollback), ask the hooks what to
    carry and record it. Returns what the run carries."""
    carried = wire.carried_of(history)
    if resumed:
        await h.emit(
            host.hooks.on_workflow_resume,
            h.WorkflowResumeInfo(instance_id, workflow_name, carried),
        )
    if carried or ending:
        return carried
    carried = _asked(host.hooks, instance_id)
    if carried:
        await keep(host.storage, instance_id, carried)
    return carried


async def keep(
    storage: Storage, instance_id: str, carried: dict[str, str], tx: Transaction | None = None
) -> None:
    """Record ``carried`` in the instance's history (again after a recur archived it)."""
    await append_row(storage, instance_id, wire.carried(carried), tx=tx)


def _asked(hooks: h.WorkflowHooks, instance_id: str) -> dict[str, str]:
    """The hooks' strings, or nothing when they raise, give non-strings or too much."""
    try:
        values = dict(hooks.carried_context(instance_id))
    except Exception:
        log.exception("carried_context raised; nothing is carried for %s", instance_id)
        return {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
        log.warning("carried_context must give strings; nothing is carried for %s", instance_id)
        return {}
    if len(wire.carried(values).data.encode()) > TEXT_MAX_BYTES:
        log.warning("carried_context gave over %d bytes; nothing is carried", TEXT_MAX_BYTES)
        return {}
    return values
