"""The status and kind values every runtime writes, spelled once.

``workflow_instances.status``, ``outbox_events.status``, ``channel_subscriptions.mode``
and the ``data_type`` columns are read by Go Romancy, Edda and romancy alike, so their
values are part of the shared database (docs/compat.md). Every enum here is a
``StrEnum``: a member compares equal to, and binds as, its text.
"""

from __future__ import annotations

from enum import StrEnum


class InstanceStatus(StrEnum):
    """Where a workflow instance stands (``workflow_instances.status``)."""

    RUNNING = "running"
    WAITING_FOR_EVENT = "waiting_for_event"  # Edda's event waits
    WAITING_FOR_TIMER = "waiting_for_timer"
    WAITING_FOR_MESSAGE = "waiting_for_message"
    COMPENSATING = "compensating"
    RECURRED = "recurred"  # Edda's recur marks the old run so
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: Statuses from which an instance can still be resumed or cancelled.
ACTIVE_STATUSES: tuple[InstanceStatus, ...] = (
    InstanceStatus.RUNNING,
    InstanceStatus.WAITING_FOR_EVENT,
    InstanceStatus.WAITING_FOR_TIMER,
    InstanceStatus.WAITING_FOR_MESSAGE,
    InstanceStatus.COMPENSATING,
    InstanceStatus.RECURRED,
)
#: Statuses an instance never leaves.
TERMINAL_STATUSES: tuple[InstanceStatus, ...] = (
    InstanceStatus.COMPLETED,
    InstanceStatus.FAILED,
    InstanceStatus.CANCELLED,
)


class OutboxStatus(StrEnum):
    """Where a queued CloudEvent stands (``outbox_events.status``)."""

    PENDING = "pending"  # queued, or waiting for its next attempt
    PROCESSING = "processing"  # claimed: a relayer is sending it right now
    PUBLISHED = "published"  # the broker accepted it
    FAILED = "failed"  # out of attempts
    INVALID = "invalid"  # the broker refused the event itself (4xx)
    EXPIRED = "expired"  # too old to send (Edda's max_age_hours)


#: Statuses an operator may put back to ``pending`` (docs/outbox.md).
RETRYABLE_OUTBOX_STATUSES: tuple[OutboxStatus, ...] = (
    OutboxStatus.FAILED,
    OutboxStatus.INVALID,
    OutboxStatus.PUBLISHED,
    OutboxStatus.EXPIRED,
)


class ChannelMode(StrEnum):
    """How a channel hands out messages (Go's ``ModeBroadcast`` … ``ModeDirect``).

    ``channel_subscriptions.mode`` holds ``broadcast`` or ``competing`` only: a direct
    subscription is stored as broadcast on the instance's own channel
    (:func:`romancy.wire.channels.direct_channel`), as both peers store it.
    """

    BROADCAST = "broadcast"
    COMPETING = "competing"
    DIRECT = "direct"


class DataType(StrEnum):
    """How a payload is stored (the ``data_type`` columns): JSON text or raw bytes."""

    JSON = "json"  # in the text column (``data``, ``event_data``)
    BINARY = "binary"  # in the ``*_binary`` column
