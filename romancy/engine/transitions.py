"""Status changes the engine makes on instances it does not (yet) run, each one a single
transaction that records why, so the instance's history and status never disagree; and
the rows a suspending run leaves behind (its timer or its message wait)."""

from __future__ import annotations

from typing import Any

from romancy.config import AppConfig
from romancy.engine.definitions import Workflow
from romancy.engine.signals import ChannelMessageSuspend, SuspendSignal, TimerSuspend
from romancy.serialization import dumps, to_json
from romancy.storage import NewInstance, Storage, TimerRecord, Transaction
from romancy.storage.payloads import check_payload
from romancy.wire import history as wire
from romancy.wire import notify
from romancy.wire.status import ACTIVE_STATUSES, InstanceStatus


async def mark_cancelled(storage: Storage, instance_id: str, reason: str) -> bool:
    """Record the cancellation and set the status, atomically; ``False`` if not active."""
    async with storage.transaction() as tx:
        changed = await storage.instances.update_instance(
            instance_id,
            status=InstanceStatus.CANCELLED,
            only_if_status=list(ACTIVE_STATUSES),
            tx=tx,
        )
        if changed:
            await storage.channels.clear_all_waits(instance_id, tx=tx)
            await append_row(storage, instance_id, wire.workflow_cancelled(reason), tx=tx)
            await storage.history.delete_timers(instance_id, tx=tx)
    return changed


async def append_row(
    storage: Storage, instance_id: str, row: wire.Row, tx: Transaction | None = None
) -> bool:
    """Write ``row`` into the instance's history unless it is there already."""
    return await storage.history.append_history(
        instance_id, row.activity_id, row.event_type, row.data, ignore_duplicate=True, tx=tx
    )


async def record_timer_fired(
    storage: Storage, worker_id: str, lock_seconds: float, timer: TimerRecord
) -> bool:
    """Lock the timer's instance, record the expiry and set it running; ``True`` leaves
    the lock held by ``worker_id`` (to resume it), ``False`` leaves nothing held."""
    if not await storage.locks.try_lock_instance(timer.instance_id, worker_id, lock_seconds):
        return False
    async with storage.transaction() as tx:
        moved = await storage.instances.update_instance(
            timer.instance_id,
            status=InstanceStatus.RUNNING,
            only_if_status=[InstanceStatus.WAITING_FOR_TIMER],
            only_if_locked_by=worker_id,
            tx=tx,
        )
        if moved:
            row = wire.timer_expired(timer.timer_id, timer.expires_at)
            await append_row(storage, timer.instance_id, row, tx=tx)
        await storage.history.delete_timers(timer.instance_id, timer.timer_id, tx=tx)
    if not moved:
        await storage.locks.unlock_instance(timer.instance_id, worker_id)
    return moved


async def create_locked(
    storage: Storage, config: AppConfig, workflow: Workflow[Any, Any], instance_id: str, input: Any
) -> Any:
    """Create the instance, locked by this worker; returns its input as JSON."""
    what = f"input of workflow {workflow.name!r}"
    input_json = to_json(input, what=what)
    input_data = dumps(input_json)
    check_payload(storage, input_data, what)
    await storage.instances.create_instance(
        NewInstance(
            instance_id=instance_id,
            workflow_name=workflow.name,
            source_hash=workflow.source_hash,
            source_code=workflow.source_code,
            owner_service=config.service_name,
            framework=config.framework,
            input_data=input_data,
            locked_by=config.worker_id,
            lock_seconds=config.stale_lock_timeout,
        )
    )
    return input_json


async def register_wait(
    storage: Storage, instance_id: str, signal: SuspendSignal, tx: Transaction
) -> tuple[InstanceStatus, str]:
    """Store what a suspending run waits for; the status it waits in, and the activity id."""
    if isinstance(signal, TimerSuspend):
        await storage.history.add_timer(
            instance_id, signal.timer_id, signal.expires_at, activity_id=signal.timer_id, tx=tx
        )
        payload = notify.timer_payload(instance_id, signal.timer_id, signal.expires_at)
        await storage.notify(notify.TIMER_EXPIRED, payload, tx=tx)
        return InstanceStatus.WAITING_FOR_TIMER, signal.timer_id
    assert isinstance(signal, ChannelMessageSuspend)
    await storage.channels.wait(
        instance_id, signal.channel, signal.activity_id, signal.timeout_seconds, tx=tx
    )
    return InstanceStatus.WAITING_FOR_MESSAGE, signal.activity_id
