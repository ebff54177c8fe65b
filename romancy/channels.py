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

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from romancy import durations
from romancy.engine._context import WorkflowContext
from romancy.engine.messaging import publish_stored, store, take_pending, wake
from romancy.engine.runtime import RuntimeOwner
from romancy.engine.signals import ChannelMessageSuspend
from romancy.engine.steps import write_once
from romancy.errors import (
    ChannelMessageTimeoutError,
    ChannelModeConflictError,
    ChannelNotSubscribedError,
    ConfigurationError,
)
from romancy.limits import check_name
from romancy.serialization import from_json
from romancy.storage import DatabaseURL, Storage, Transaction
from romancy.wire import history as wire_history
from romancy.wire import messages as wire
from romancy.wire.channels import direct_channel
from romancy.wire.status import (
    ChannelMode as ChannelMode,  # re-exported: the mode belongs to this API
)

T = TypeVar("T")


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
    step = ctx.begin_step(f"receive_{_channel(channel)}", activity_id)
    if step.recorded is not None:
        if step.recorded.event_type in (
            wire_history.MESSAGE_TIMEOUT,
            wire_history.ACTIVITY_FAILED,
        ):
            raise ChannelMessageTimeoutError(ctx.instance_id, channel)
        return _received(wire.read_delivered(step.recorded), type, channel)
    step.ensure_new_allowed()
    actual = ctx.channel_name(channel)
    storage = ctx.storage
    subscription = await storage.channels.subscription(ctx.instance_id, actual)
    if subscription is None:
        raise ChannelNotSubscribedError(channel)
    taken = await take_pending(storage, ctx.instance_id, step.id, subscription.mode, actual)
    if taken is not None:
        return _received(taken, type, channel)
    raise ChannelMessageSuspend(actual, step.id, durations.seconds(timeout))


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
    source: WorkflowContext | RuntimeOwner | Storage | DatabaseURL | str,
    channel: str,
    data: Any,
    *,
    metadata: dict[str, Any] | None = None,
) -> str:
    """Publish a message (a JSON object, or bytes); returns its message id.

    ``source`` is the publishing workflow's context, or — from plain code — an App, a
    Storage, or a database URL (text or parsed).
    """
    if isinstance(source, WorkflowContext):
        return await _publish_step(source, f"publish_{channel}", channel, data, metadata)
    if isinstance(source, str | DatabaseURL):
        storage = await Storage.open(source, pool_size=1)
        try:
            published = await publish_stored(
                storage, _publisher_id(), channel, data, metadata, None
            )
            return published.message_id
        finally:
            await storage.close()
    if isinstance(source, Storage):
        published = await publish_stored(source, _publisher_id(), channel, data, metadata, None)
        return published.message_id
    runtime = source.engine
    published = await publish_stored(
        runtime.storage, runtime.worker_id, channel, data, metadata, runtime
    )
    return published.message_id


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
    target = _channel(direct_channel(_channel(channel), target_instance_id))
    return await _publish_step(
        ctx, f"send_to_{target_instance_id}_{channel}", target, data, metadata
    )


async def _publish_step(
    ctx: WorkflowContext, name: str, channel: str, data: Any, metadata: dict[str, Any] | None
) -> str:
    meta = {"source_instance_id": ctx.instance_id, **(metadata or {})}
    storage, runtime = ctx.storage, ctx.runtime

    async def write(tx: Transaction) -> str:
        return await store(storage, channel, data, meta, tx=tx)

    async def after() -> None:
        await wake(storage, runtime.worker_id, channel, runtime)  # the leader retries misses

    return await write_once(ctx, name, "publish", write, after)


def _publisher_id() -> str:
    return f"publisher-{uuid.uuid4()}"


# -------------------------------------------------------------------------- groups


async def join_group(ctx: WorkflowContext, group: str) -> None:
    """Add this instance to ``group`` (memberships end with the workflow)."""
    await ctx.storage.groups.join_group(ctx.instance_id, _group(group))
    ctx.note_group()


async def leave_group(ctx: WorkflowContext, group: str) -> None:
    """Remove this instance from ``group``."""
    await ctx.storage.groups.leave_group(ctx.instance_id, _group(group))


async def get_group_members(source: RuntimeOwner | Storage, group: str) -> list[str]:
    """The instance ids in ``group``."""
    storage = source if isinstance(source, Storage) else source.engine.storage
    return await storage.groups.group_members(_group(group))


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


def _stored_mode(mode: ChannelMode) -> ChannelMode:
    # Direct is stored as broadcast on the instance's own channel, as the peers store it.
    return ChannelMode.COMPETING if mode is ChannelMode.COMPETING else ChannelMode.BROADCAST


def _actual(ctx: WorkflowContext, channel: str, mode: ChannelMode) -> str:
    return direct_channel(channel, ctx.instance_id) if mode is ChannelMode.DIRECT else channel
