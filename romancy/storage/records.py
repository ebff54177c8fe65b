"""Rows as the storage layer hands them out: plain frozen dataclasses.

JSON columns stay text here; turning them into Python values (and knowing which peer
wrote them) is the job of ``romancy.wire``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from romancy.errors import ConfigurationError
from romancy.serialization import format_time
from romancy.storage.filters import check_id_fragment, check_input_filters


@dataclass(frozen=True, slots=True)
class NewInstance:
    """What :meth:`Storage.create_instance` needs to insert a workflow instance."""

    instance_id: str
    workflow_name: str
    source_hash: str
    source_code: str
    owner_service: str
    framework: str
    input_data: str
    #: Take the instance lock in the same statement (the starting worker runs it at once).
    locked_by: str | None = None
    lock_seconds: float = 300.0
    continued_from: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    """One row of ``workflow_instances``."""

    instance_id: str
    workflow_name: str
    source_hash: str
    owner_service: str
    framework: str
    status: str
    current_activity_id: str | None
    continued_from: str | None
    started_at: datetime
    updated_at: datetime
    input_data: str
    output_data: str | None
    locked_by: str | None
    locked_at: datetime | None
    lock_timeout_seconds: int | None
    lock_expires_at: datetime | None

    def summary(self) -> dict[str, Any]:
        """What a listing shows of the instance (the CLI's and the MCP server's JSON)."""
        return {
            "instance_id": self.instance_id,
            "workflow_name": self.workflow_name,
            "framework": self.framework,
            "status": self.status,
            "current_activity_id": self.current_activity_id,
            "owner_service": self.owner_service,
            "started_at": format_time(self.started_at),
            "updated_at": format_time(self.updated_at),
        }


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """One row of ``workflow_history``: JSON text or bytes, as ``data_type`` says."""

    id: int
    instance_id: str
    activity_id: str
    event_type: str
    data_type: str
    event_data: str | None
    event_data_binary: bytes | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TimerRecord:
    """A due timer, with the workflow it belongs to."""

    instance_id: str
    workflow_name: str
    timer_id: str
    expires_at: datetime
    activity_id: str | None


@dataclass(frozen=True, slots=True)
class CompensationRecord:
    """One registered compensation."""

    id: int
    instance_id: str
    activity_id: str
    activity_name: str
    args: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds a lock and until when."""

    locked_by: str | None
    lock_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class InstanceQuery:
    """Which instances :meth:`Storage.list_instances` returns.

    ``input_filters`` maps dot paths into the input JSON (``"order.customer_id"``) to the
    exact string, number, bool or ``None`` they must hold; ``instance_id_contains`` is a
    literal fragment, ASCII letters matched in either case (docs/storage.md, "Searching
    instances"). ``framework=None`` lists every runtime's instances.
    """

    framework: str | None = None
    status: str | None = None
    workflow_name: str | None = None
    instance_id_contains: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    input_filters: Mapping[str, Any] = field(default_factory=dict)
    limit: int = 50
    page_token: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 1000:
            raise ConfigurationError(f"limit must be between 1 and 1000, got {self.limit}")
        check_input_filters(self.input_filters)
        check_id_fragment(self.instance_id_contains)


@dataclass(frozen=True, slots=True)
class InstancePage:
    """One page of instances, and the token for the next one."""

    instances: list[InstanceRecord]
    next_page_token: str | None
    has_more: bool


def encode_page_token(started_at: datetime, instance_id: str) -> str:
    """``"<started_at ISO>||<instance_id>"``, the token format both peers use."""
    return f"{started_at.astimezone(UTC).replace(tzinfo=None).isoformat()}||{instance_id}"


def decode_page_token(token: str) -> tuple[datetime, str]:
    """Split a page token, naming it when it is malformed."""
    started, sep, instance_id = token.partition("||")
    try:
        if not sep or not instance_id:
            raise ValueError
        moment = datetime.fromisoformat(started)
    except ValueError:
        raise ConfigurationError(f"malformed page token {token!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), instance_id


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One row of ``channel_messages`` (JSON columns as text), in column order."""

    sequence: int
    channel: str
    message_id: str
    data_type: str
    data: str | None
    data_binary: bytes | None
    metadata: str | None
    published_at: datetime


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    """One row of ``channel_subscriptions``, with its broadcast cursor resolved.

    ``cursor`` is the larger of Edda's ``cursor_message_id`` and Go's
    ``channel_delivery_cursors.last_delivered_id`` (docs/compat.md).
    """

    instance_id: str
    channel: str
    mode: str
    activity_id: str | None
    cursor: int
    timeout_at: datetime | None


@dataclass(frozen=True, slots=True)
class WaitingSubscriber:
    """An instance (of any runtime) waiting on a channel."""

    instance_id: str
    channel: str
    mode: str
    activity_id: str
    framework: str
    workflow_name: str
    status: str
    timeout_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One row of ``outbox_events``."""

    event_id: str
    event_type: str
    event_source: str
    data_type: str
    event_data: str | None
    event_data_binary: bytes | None
    content_type: str
    created_at: datetime
    retry_count: int
