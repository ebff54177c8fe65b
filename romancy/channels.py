"""Channels: messages between workflows (and from plain code), across runtimes.

* ``subscribe(ctx, channel, mode)`` — broadcast (every subscriber sees every message),
  competing (each message goes to one subscriber) or direct (messages ``send_to`` this
  instance; stored as broadcast on ``"<channel>:<instance id>"``, as both peers do).
* ``receive(ctx, channel, timeout=…, type=…)`` — the next message, waiting durably (the
  workflow suspends and holds no lock while it waits).
* ``publish(source, channel, data, metadata=…)`` — from a workflow, an App, a Storage or a
  database URL; waiting subscribers of any runtime are woken (lock-first delivery).
* ``send_to(ctx, instance_id, channel, data)``; groups: ``join_group``, ``leave_group``,
  ``get_group_members``.

Unlike the peers, ``publish``/``send_to`` called from workflow code are recorded steps: a
replay does not publish the message a second time.
"""

from __future__ import annotations

import enum
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from romancy.context import WorkflowContext
from romancy.engine.delivery import take_next, wake_waiters
from romancy.engine.session import current_session, inside_activity
from romancy.engine.signals import ChannelMessageSuspend
from romancy.errors import (
    ChannelMessageTimeoutError,
    ChannelModeConflictError,
    ChannelNotSubscribedError,
    ConfigurationError,
)
from romancy.limits import check_name, check_text
from romancy.serialization import from_json, to_json
from romancy.storage import Storage, Transaction, WaitingSubscriber
from romancy.storage.notify import CHANNEL_MESSAGE, channel_message_payload
from romancy.storage.payloads import check_payload
from romancy.wire import frameworks
from romancy.wire import history as wire_history
from romancy.wire import messages as wire

if TYPE_CHECKING:
    from romancy.app import App

T = TypeVar("T")
log = logging.getLogger("romancy.channels")


class ChannelMode(enum.StrEnum):
    """How a channel hands out messages (Go's ``ModeBroadcast`` … ``ModeDirect``)."""

    BROADCAST = "broadcast"
    COMPETING = "competing"
    DIRECT = "direct"


@dataclass(frozen=True)
class ReceivedMessage(Generic[T]):
    """A message as ``receive`` returns it."""

    id: str  #: the message's text id (``channel_messages.message_id``)
    channel_name: str
    data: T
    metadata: dict[str, Any] = field(default_factory=dict)
    sender_instance_id: str | None = None
    created_at: datetime | None = None
    sequence: int | None = None  #: ``channel_messages.id`` (Go's ``ReceivedMessage.ID``)


# ------------------------------------------------------------------- subscriptions


async def subscribe(
    ctx: WorkflowContext, channel: str, mode: ChannelMode | str = ChannelMode.BROADCAST
) -> None:
    """Subscribe this workflow to ``channel``; a channel's mode cannot change while it has
    subscribers (:class:`~romancy.ChannelModeConflictError`)."""
    requested = _mode(mode)
    actual, stored = _actual(ctx, _channel(channel), requested), _stored_mode(requested)
    storage = ctx.storage
    existing = await storage.channels.mode_of(actual)
    if existing is not None and existing != stored:
        raise ChannelModeConflictError(channel, existing, requested.value)
    await storage.channels.subscribe(ctx.instance_id, actual, stored)
    ctx.note_subscription(channel, requested is ChannelMode.DIRECT)


async def unsubscribe(ctx: WorkflowContext, channel: str) -> None:
    """Stop receiving from ``channel``."""
    actual = ctx.channel_name(_channel(channel))
    await ctx.storage.channels.unsubscribe(ctx.instance_id, actual)
    ctx.forget_subscription(channel)


# ------------------------------------------------------------------------- receive


async def receive(
    ctx: WorkflowContext,
    channel: str,
    *,
    type: Any = None,
    timeout: float | timedelta | None = None,
    activity_id: str | None = None,
) -> ReceivedMessage[Any]:
    """The next message on ``channel``, waiting for one if none is pending.

    ``type`` decodes the data (a dataclass, pydantic model, …); ``timeout`` raises
    :class:`~romancy.ChannelMessageTimeoutError` when nothing arrives in time.
    """
    step = activity_id or ctx.generate_activity_id(f"receive_{_channel(channel)}")
    ctx.claim_activity_id(step)
    recorded = ctx.log.take(step)
    if recorded is not None:
        if recorded.event_type in (wire_history.MESSAGE_TIMEOUT, wire_history.ACTIVITY_FAILED):
            raise ChannelMessageTimeoutError(ctx.instance_id, channel)
        return _received(wire.read_delivered(recorded), type, channel)
    if activity_id is None:
        ctx.log.ensure_new_step_allowed(step, ctx.workflow_name)
    actual = ctx.channel_name(channel)
    storage = ctx.storage
    subscription = await storage.channels.subscription(ctx.instance_id, actual)
    if subscription is None:
        raise ChannelNotSubscribedError(channel)
    taken = await _take_pending(storage, ctx.instance_id, step, subscription.mode, actual)
    if taken is not None:
        return _received(taken, type, channel)
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
    raise ChannelMessageSuspend(actual, step, seconds)


async def _take_pending(
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
        await storage.append_history(
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


def _received(view: wire.MessageView, type_: Any, channel: str) -> ReceivedMessage[Any]:
    data = (
        from_json(view.data, type_, what=f"message on channel {channel!r}") if type_ else view.data
    )
    return ReceivedMessage(
        id=view.id,
        channel_name=channel,
        data=data,
        metadata=view.metadata,
        sender_instance_id=view.metadata.get("source_instance_id"),
        created_at=view.published_at,
        sequence=view.sequence,
    )


# ------------------------------------------------------------------------- publish


async def publish(
    source: WorkflowContext | App | Storage | str,
    channel: str,
    data: Any,
    *,
    metadata: dict[str, Any] | None = None,
) -> str:
    """Publish a message (a JSON object, or bytes); returns its message id.

    ``source`` is the publishing workflow's context, or — from plain code — an App, a
    Storage, or a database URL.
    """
    if isinstance(source, WorkflowContext):
        return await _publish_step(source, f"publish_{channel}", channel, data, metadata)
    if isinstance(source, str):
        storage = await Storage.open(source, pool_size=1)
        try:
            return await _publish(storage, _publisher_id(), channel, data, metadata, None)
        finally:
            await storage.close()
    app = source if not isinstance(source, Storage) else None
    storage = source if isinstance(source, Storage) else source.storage
    worker = app.worker_id if app is not None else _publisher_id()
    return await _publish(storage, worker, channel, data, metadata, app)


async def send_to(
    ctx: WorkflowContext,
    target_instance_id: str,
    channel: str,
    data: Any,
    *,
    metadata: dict[str, Any] | None = None,
) -> str:
    """Send a message to one instance that subscribed to ``channel`` in direct mode."""
    check_name(target_instance_id, "target instance id")
    target = _channel(f"{_channel(channel)}:{target_instance_id}")
    return await _publish_step(
        ctx, f"send_to_{target_instance_id}_{channel}", target, data, metadata
    )


async def _publish_step(
    ctx: WorkflowContext, name: str, channel: str, data: Any, metadata: dict[str, Any] | None
) -> str:
    meta = {"source_instance_id": ctx.instance_id, **(metadata or {})}
    if inside_activity():
        # Part of the activity, not a step of its own: replay never runs the activity
        # again, so a step recorded here would be met by nothing.
        session = current_session.get()
        if session is None:  # non-transactional: published at once, as from plain code
            return await _publish(ctx.storage, ctx.worker_id, channel, data, meta, ctx.app)
        tx = Transaction(await session.connection())
        message_id = await _store(ctx.storage, channel, data, meta, tx=tx)
        session.after_commit(lambda: _wake(ctx.storage, ctx.worker_id, channel, ctx.app))
        return message_id
    step = ctx.generate_activity_id(name)
    ctx.claim_activity_id(step)
    recorded = ctx.log.take(step)
    if recorded is not None:
        return str(wire_history.read_step(recorded).result)  # published before this replay
    ctx.log.ensure_new_step_allowed(step, ctx.workflow_name)
    return await _publish(
        ctx.storage,
        ctx.worker_id,
        channel,
        data,
        meta,
        ctx.app,
        step=step,
        instance_id=ctx.instance_id,
    )


async def publish_message(
    app: App,
    channel: str,
    data: Any,
    metadata: dict[str, Any] | None,
    *,
    only_instance: str | None = None,
) -> str:
    """Store a message with any JSON payload and wake its waiters (engine use: CloudEvent
    ingestion). ``only_instance`` limits the wake-up to one waiting instance."""
    return await _publish(
        app.storage,
        app.worker_id,
        channel,
        data,
        metadata,
        app,
        only_instance=only_instance,
        objects_only=False,
    )


async def _publish(
    storage: Storage,
    worker_id: str,
    channel: str,
    data: Any,
    metadata: dict[str, Any] | None,
    app: App | None,
    *,
    step: str | None = None,
    instance_id: str | None = None,
    only_instance: str | None = None,
    objects_only: bool = True,
) -> str:
    async with storage.transaction() as tx:
        message_id = await _store(
            storage, channel, data, metadata, tx=tx, objects_only=objects_only
        )
        if step is not None and instance_id is not None:
            await storage.append_history(
                instance_id,
                step,
                wire_history.ACTIVITY_COMPLETED,
                wire_history.activity_completed("publish", message_id),
                tx=tx,
            )
    await _wake(storage, worker_id, channel, app, only_instance=only_instance)
    return message_id


async def _store(
    storage: Storage,
    channel: str,
    data: Any,
    metadata: dict[str, Any] | None,
    *,
    tx: Transaction,
    objects_only: bool = True,
) -> str:
    """Insert a message (and its NOTIFY hint) in ``tx``; returns its text id."""
    _channel(channel)
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


async def _wake(
    storage: Storage,
    worker_id: str,
    channel: str,
    app: App | None,
    *,
    only_instance: str | None = None,
) -> None:
    """Deliver a stored message into the instances waiting on ``channel`` (lock-first)."""
    try:
        await wake_waiters(
            storage, worker_id, channel, only_instance=only_instance, delivered=_resumer(app)
        )
    except Exception as error:  # the message is stored; the leader's check delivers it
        log.warning("waking the subscribers of %r failed: %s", channel, error)


def _resumer(app: App | None) -> Any:
    """After a delivery into one of this App's instances, resume it here at once."""
    if app is None:
        return None

    async def resume(waiting: WaitingSubscriber) -> None:
        await app.engine.delivered(waiting)

    return resume


def _publisher_id() -> str:
    return f"publisher-{uuid.uuid4()}"


# -------------------------------------------------------------------------- groups


async def join_group(ctx: WorkflowContext, group: str) -> None:
    """Add this instance to ``group`` (memberships end with the workflow)."""
    await ctx.storage.channels.join_group(ctx.instance_id, _group(group))
    ctx.note_group()


async def leave_group(ctx: WorkflowContext, group: str) -> None:
    """Remove this instance from ``group``."""
    await ctx.storage.channels.leave_group(ctx.instance_id, _group(group))


async def get_group_members(source: App | Storage, group: str) -> list[str]:
    """The instance ids in ``group``."""
    storage = source if isinstance(source, Storage) else source.storage
    return await storage.channels.group_members(_group(group))


# ------------------------------------------------------------------------- helpers


def _channel(name: str) -> str:
    """``name`` if every backend can store it as a channel name."""
    return check_name(name, "channel name")


def _group(name: str) -> str:
    return check_name(name, "group name")


def _mode(mode: ChannelMode | str) -> ChannelMode:
    try:
        return ChannelMode(mode)
    except ValueError:
        raise ConfigurationError(
            f"unknown channel mode {mode!r}; use broadcast, competing or direct"
        ) from None


def _stored_mode(mode: ChannelMode) -> str:
    return "competing" if mode is ChannelMode.COMPETING else "broadcast"


def _actual(ctx: WorkflowContext, channel: str, mode: ChannelMode) -> str:
    return f"{channel}:{ctx.instance_id}" if mode is ChannelMode.DIRECT else channel
