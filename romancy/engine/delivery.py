"""Lock-first delivery of channel messages into waiting instances of any runtime.

The deliverer takes the waiting instance's lock, and in one transaction: re-checks that
it still waits (and is ``waiting_for_message``, so a cancelled instance is never revived),
takes the next pending message for it (advancing both broadcast cursors, or claiming and
deleting a competing message), writes the ``ChannelMessageReceived`` row in the layout of
the runtime that owns the instance, clears the wait and sets it ``running``. Then it
releases the lock; the owner's resumption picks the instance up (docs/channels.md).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

from romancy.engine.cancellation import finish_first
from romancy.engine.transitions import append_row
from romancy.errors import DuplicateRecordError
from romancy.storage import Storage, Transaction, WaitingSubscriber, is_transient
from romancy.wire import frameworks
from romancy.wire import history as wire_history
from romancy.wire import messages as wire
from romancy.wire.notify import RESUMABLE, resumable_payload
from romancy.wire.status import ChannelMode, InstanceStatus

log = logging.getLogger("romancy.delivery")

#: Lease taken on a foreign instance for the few statements of a delivery.
DELIVERY_LEASE = 30.0

Delivered = Callable[[WaitingSubscriber], Awaitable[None]]


class _Undo(Exception):
    """Roll the delivery transaction back: nothing to deliver after all."""


def delivery_owner(worker_id: str) -> str:
    """A lock owner of its own for one delivery.

    Never the worker's id itself: instance locks are re-entrant for their owner, so a
    delivery under the worker's id would walk into (and then release) the lock of a run
    of that very instance on this worker.
    """
    return f"{worker_id}/delivery-{uuid.uuid4().hex[:12]}"


async def deliver_next(storage: Storage, worker_id: str, waiting: WaitingSubscriber) -> bool:
    """Deliver the next pending message of ``waiting``'s channel into it; ``True`` if done.

    ``False`` when there was nothing to deliver, the instance runs somewhere (it will find
    the message itself), or the database refused for now (the leader's missed-delivery
    check retries).
    """
    owner = delivery_owner(worker_id)
    try:
        # Not stopped half-way by a shutdown: a foreign instance's lock would stay held
        # (and its receive stall) until the lease ran out.
        return await finish_first(_deliver_locked(storage, owner, waiting))
    except Exception as error:
        if not is_transient(error):  # e.g. a deadlock is; a bug is not
            raise
        log.info("delivery into %s deferred: %s", waiting.instance_id, error)
        return False


async def _deliver_locked(storage: Storage, owner: str, waiting: WaitingSubscriber) -> bool:
    if not await storage.locks.try_lock_instance(waiting.instance_id, owner, DELIVERY_LEASE):
        return False
    try:
        async with storage.transaction() as tx:
            delivered = await _deliver(storage, waiting, tx)
            if not delivered:
                raise _Undo
    except _Undo:
        return False
    except DuplicateRecordError:
        return False  # delivered concurrently by someone else
    finally:
        await storage.locks.unlock_instance(waiting.instance_id, owner)
    await announce_resumable(storage, waiting.instance_id, waiting.workflow_name)
    return True


async def announce_resumable(storage: Storage, instance_id: str, workflow_name: str) -> None:
    """Wake the workers that run ``workflow_name`` (a NOTIFY on PostgreSQL; elsewhere their
    resumption poll finds the instance). Called once the instance is unlocked: a worker
    woken at the commit would find it still locked, skip it, and wait for its next poll."""
    await storage.notify(RESUMABLE, resumable_payload(instance_id, workflow_name))


async def _deliver(storage: Storage, waiting: WaitingSubscriber, tx: Transaction) -> bool:
    channels = storage.channels
    current = await channels.waiting(waiting.channel, instance_id=waiting.instance_id, tx=tx)
    if not current or current[0].status != InstanceStatus.WAITING_FOR_MESSAGE:
        return False
    subscriber = current[0]
    subscription = await channels.subscription(subscriber.instance_id, subscriber.channel, tx=tx)
    if subscription is None:
        return False
    message = await take_next(
        storage,
        subscriber.instance_id,
        subscriber.channel,
        subscriber.mode,
        subscription.cursor,
        tx,
        reader=subscriber.framework,
    )
    if message is None:
        return False
    await storage.history.append_history(
        subscriber.instance_id,
        subscriber.activity_id,
        wire_history.CHANNEL_MESSAGE_RECEIVED,
        wire.delivery_record(message, subscriber.framework),
        tx=tx,
    )
    await channels.clear_wait(subscriber.instance_id, subscriber.channel, tx=tx)
    return await storage.instances.update_instance(
        subscriber.instance_id,
        status=InstanceStatus.RUNNING,
        only_if_status=[InstanceStatus.WAITING_FOR_MESSAGE],
        tx=tx,
    )


async def take_next(
    storage: Storage,
    instance_id: str,
    channel: str,
    mode: str,
    cursor: int,
    tx: Transaction,
    *,
    reader: str = frameworks.OURS,
) -> wire.StoredMessage | None:
    """Take the next message ``instance_id`` (of framework ``reader``) may consume on
    ``channel``, or ``None`` when there is none it may have.

    Broadcast messages targeted at another instance are stepped over (the cursor moves
    past them); a competing message claimed first by someone else is passed by.
    """
    while True:
        row = await storage.channels.next_message(channel, mode, cursor, tx=tx)
        if row is None:
            return None
        message = wire.read_stored(row)
        if mode != ChannelMode.COMPETING and wire.addressed_elsewhere(message, instance_id):
            await storage.channels.advance_cursors(instance_id, channel, row.sequence, tx=tx)
            cursor = row.sequence
            continue
        if not wire.deliverable(message, reader):
            log.warning(
                "binary message %s not delivered to Edda instance %s (Edda cannot replay it)",
                message.message_id,
                instance_id,
            )
            return None
        if await storage.channels.take(instance_id, channel, mode, row, tx=tx):
            return message


async def wake_waiters(
    storage: Storage,
    worker_id: str,
    channel: str,
    *,
    only_instance: str | None = None,
    delivered: Delivered | None = None,
) -> list[str]:
    """Deliver into the instances waiting on ``channel``: every broadcast waiter, and the
    first competing waiter that takes a message. Returns the instances delivered into."""
    done: list[str] = []
    competing_served = False
    for waiting in await storage.channels.waiting(channel, instance_id=only_instance):
        if waiting.mode == ChannelMode.COMPETING and (
            competing_served
            or not await storage.channels.next_message(channel, ChannelMode.COMPETING, 0)
        ):
            # Taken already (by a consumer that was running, or by the one just served):
            # one read instead of a whole lock-first attempt per remaining waiter.
            continue
        if await deliver_next(storage, worker_id, waiting):
            done.append(waiting.instance_id)
            competing_served = competing_served or waiting.mode == ChannelMode.COMPETING
            if delivered is not None:
                await delivered(waiting)
    return done


async def time_out(storage: Storage, worker_id: str, waiting: WaitingSubscriber) -> bool:
    """Record that ``waiting``'s receive timed out, and set it running (leader)."""
    return await finish_first(_time_out(storage, delivery_owner(worker_id), waiting))


async def _time_out(storage: Storage, owner: str, waiting: WaitingSubscriber) -> bool:
    if not await storage.locks.try_lock_instance(waiting.instance_id, owner, DELIVERY_LEASE):
        return False
    try:
        async with storage.transaction() as tx:
            current = await storage.channels.waiting(
                waiting.channel, instance_id=waiting.instance_id, tx=tx
            )
            if not current or current[0].activity_id != waiting.activity_id:
                return False
            timed_out = wire_history.Row(
                waiting.activity_id,
                wire_history.MESSAGE_TIMEOUT,
                wire.timeout_record(waiting.channel, waiting.timeout_at),
            )
            recorded = await append_row(storage, waiting.instance_id, timed_out, tx=tx)
            await storage.channels.clear_wait(waiting.instance_id, waiting.channel, tx=tx)
            if recorded:
                await storage.instances.update_instance(
                    waiting.instance_id,
                    status=InstanceStatus.RUNNING,
                    only_if_status=[InstanceStatus.WAITING_FOR_MESSAGE],
                    tx=tx,
                )
    finally:
        await storage.locks.unlock_instance(waiting.instance_id, owner)
    if recorded:  # the instance may be another worker's, or another service's
        await announce_resumable(storage, waiting.instance_id, waiting.workflow_name)
    return recorded
