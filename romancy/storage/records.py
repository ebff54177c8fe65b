"""Rows as the storage layer hands them out: plain frozen dataclasses.

JSON columns stay text here; turning them into Python values (and knowing which peer
wrote them) is the job of ``romancy.wire``. The exceptions are the JSON a person reads
(``details``, ``export``): the CLI's, the MCP server's and the replay export's.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from romancy.errors import ConfigurationError
from romancy.serialization import as_utc, dumps, format_time, loads, parse_time
from romancy.storage.filters import check_id_fragment, check_input_filters
from romancy.wire.status import DataType


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

    def details(self) -> dict[str, Any]:
        """:meth:`summary` with the input and output (``romancy get --json``, the MCP
        instance resource)."""
        return self.summary() | {
            "input": shown_json(self.input_data),
            "output": shown_json(self.output_data),
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

    @property
    def is_binary(self) -> bool:
        """The payload is in ``event_data_binary`` (whatever ``data_type`` a peer wrote)."""
        return self.data_type == DataType.BINARY or self.event_data_binary is not None

    def export(self) -> dict[str, Any]:
        """This row as ``romancy get --json`` prints it: ``data`` is the parsed event data
        (the raw text when it is not JSON), or base64 text when ``data_type`` is binary."""
        binary = self.is_binary  # one test for both keys
        return {
            "id": self.id,
            "event_type": self.event_type,
            "activity_id": self.activity_id,
            "created_at": format_time(self.created_at),
            "data_type": DataType.BINARY if binary else DataType.JSON,
            "data": (
                base64.b64encode(self.event_data_binary or b"").decode("ascii")
                if binary
                else shown_json(self.event_data)
            ),
        }

    @classmethod
    def from_export(cls, instance_id: str, event: Mapping[str, Any], number: int) -> HistoryRecord:
        """The row :meth:`export` printed (``number``, its place in the history, when
        the export has no ``id``). Raises ``KeyError``, ``TypeError`` or ``ValueError``
        naming what is missing or malformed."""
        if not isinstance(event, Mapping):
            raise TypeError(f"a history event is an object, got {event!r}")
        binary = event.get("data_type") == DataType.BINARY
        data = event.get("data")
        created = event.get("created_at")
        return cls(
            id=int(event.get("id") or number),
            instance_id=instance_id,
            activity_id=str(event["activity_id"]),
            event_type=str(event["event_type"]),
            data_type=DataType.BINARY if binary else DataType.JSON,
            event_data=None if binary else dumps(data, what="history event data"),
            event_data_binary=base64.b64decode(data or "", validate=True) if binary else None,
            created_at=parse_time(str(created)) if created else datetime.now(UTC),
        )


def shown_json(text: str | None) -> Any:
    """A JSON column as output shows it: its value, ``None`` when empty, or the text
    itself when it is not JSON (another runtime's raw payload stays readable)."""
    try:
        return loads(text)
    except ValueError:
        return text


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
    return as_utc(moment), instance_id


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
