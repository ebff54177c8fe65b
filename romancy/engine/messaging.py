"""Storing channel messages and waking their waiters; taking a pending one for a receive.

The publishing side of :mod:`romancy.channels` (and of CloudEvent ingestion): a message
row and its NOTIFY hint in one transaction, then lock-first delivery into the instances
waiting on the channel, any runtime's (:mod:`romancy.engine.delivery`).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, NamedTuple

from romancy.engine.delivery import take_next, wake_waiters
from romancy.engine.runtime import Runtime
from romancy.errors import ConfigurationError
from romancy.limits import check_name, check_text
from romancy.serialization import to_json
from romancy.storage import Storage, Transaction
from romancy.storage.payloads import check_payload
from romancy.wire import frameworks
from romancy.wire import history as wire_history
from romancy.wire import messages as wire
from romancy.wire.notify import CHANNEL_MESSAGE, channel_message_payload

log = logging.getLogger("romancy.channels")


class Published(NamedTuple):
    """A stored message, and the waiting instances it was delivered into at once."""

    message_id: str
    delivered: tuple[str, ...]


async def publish_stored(
    storage: Storage,
    worker_id: str,
    channel: str,
    data: Any,
    metadata: dict[str, Any] | None,
    runtime: Runtime | None,
    *,
    only_instance: str | None = None,
    objects_only: bool = True,
) -> Published:
    """Store a message in a transaction of its own, then wake its waiters.

    ``runtime`` (when publishing from a worker) resumes its own instances delivered into
    at once; ``only_instance`` limits the wake-up to one waiting instance.
    """
    async with storage.transaction() as tx:
        message_id = await store(storage, channel, data, metadata, tx=tx, objects_only=objects_only)
    delivered = await wake(storage, worker_id, channel, runtime, only_instance=only_instance)
    return Published(message_id, tuple(delivered))


async def store(
    storage: Storage,
    channel: str,
    data: Any,
    metadata: dict[str, Any] | None,
    *,
    tx: Transaction,
    objects_only: bool = True,
) -> str:
    """Insert a message (and its NOTIFY hint) in ``tx``; returns its text id."""
    check_name(channel, "channel name")
    payload = (
        data if isinstance(data, bytes) else to_json(data, what=f"message on channel {channel!r}")
    )
    if objects_only and not isinstance(payload, dict | bytes):
        raise ConfigurationError(
            f"a channel message must be a JSON object (or bytes), not {type(payload).__name__}: "
            "the peers read only objects (Edda replaces anything else with {})"
        )
    message_id = str(uuid.uuid4())
    meta = to_json(metadata, what="message metadata") if metadata else None
    data_type, text, binary, meta_text = wire.message_columns(payload, meta)
    check_payload(storage, text or binary or b"", f"message on channel {channel!r}")
    if meta_text is not None:
        check_text(meta_text, "message metadata")  # a TEXT column on MySQL/MariaDB
    await storage.channels.insert_message(
        channel, message_id, data_type, text, binary, meta_text, tx=tx
    )
    await storage.notify(CHANNEL_MESSAGE, channel_message_payload(channel, message_id), tx=tx)
    return message_id


async def wake(
    storage: Storage,
    worker_id: str,
    channel: str,
    runtime: Runtime | None,
    *,
    only_instance: str | None = None,
) -> list[str]:
    """Deliver a stored message into the instances waiting on ``channel`` (lock-first);
    returns the instances delivered into."""
    try:
        return await wake_waiters(
            storage,
            worker_id,
            channel,
            only_instance=only_instance,
            delivered=runtime.delivered if runtime is not None else None,
        )
    except Exception as error:  # the message is stored; the leader's check delivers it
        log.warning("waking the subscribers of %r failed: %s", channel, error)
        return []


async def take_pending(
    storage: Storage, instance_id: str, step: str, mode: str, channel: str
) -> wire.MessageView | None:
    """Take the next pending message for this subscriber and record it, atomically."""
    async with storage.transaction() as tx:
        subscription = await storage.channels.subscription(instance_id, channel, tx=tx)
        if subscription is None:
            return None
        message = await take_next(storage, instance_id, channel, mode, subscription.cursor, tx)
        if message is None:
            return None
        await storage.history.append_history(
            instance_id,
            step,
            wire_history.CHANNEL_MESSAGE_RECEIVED,
            wire.delivery_record(message, frameworks.OURS),
            tx=tx,
        )
        return wire.MessageView(
            message.message_id,
            message.channel,
            message.data,
            message.metadata or {},
            message.published_at,
            message.sequence,
        )
