"""Channel messages and CloudEvents as each runtime writes and reads them.

Writers are per reader (docs/compat.md): a lock-first delivery writes the
``ChannelMessageReceived`` history row in the layout of the runtime that owns the waiting
instance. Readers accept every layout (docs/compat.md, Message shapes).

``ChannelMessageReceived`` layouts:

* Edda: ``{"id": "<message_id>", "channel", "data", "metadata", "published_at"}``
* Go: ``{"id": <internal int id>, "channel_name", "created_at", "data", "metadata"?}``
* ours: Edda's keys plus ``"sequence"`` (the internal id), ``published_at`` in RFC 3339

A CloudEvent becomes a channel message in Edda's layout — the payload as ``data``, the
attributes as ``ce_*`` metadata — which Edda and we read. Go's ``WaitEvent`` expects the
whole envelope as ``data`` instead, so a delivery into a waiting Go instance rebuilds the
envelope for that row.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from romancy.cloudevent import (
    ATTRIBUTES_MAX_BYTES,
    EDDA_TARGET,
    ROMANCY_TARGET,
    SPECVERSION,
    CloudEvent,
)
from romancy.limits import check_text
from romancy.serialization import format_time, loads, parse_time
from romancy.storage.payload_columns import payload_columns
from romancy.storage.records import HistoryRecord, MessageRecord
from romancy.wire.frameworks import EDDA, GO
from romancy.wire.history import dump, event_payload
from romancy.wire.status import DataType


@dataclass(frozen=True)
class StoredMessage:
    """A row of ``channel_messages``, decoded."""

    sequence: int
    message_id: str
    channel: str
    data: Any  # JSON value, or bytes for a binary message
    metadata: dict[str, Any] | None
    published_at: datetime


@dataclass(frozen=True)
class MessageView:
    """A received message as a replaying workflow sees it, whoever recorded it."""

    id: str
    channel: str
    data: Any
    metadata: dict[str, Any]
    published_at: datetime | None
    sequence: int | None = None


# ----------------------------------------------------------------------- writing


def delivery_record(message: StoredMessage, reader: str) -> str | bytes:
    """The ``ChannelMessageReceived`` event data for an instance of framework ``reader``."""
    if reader == GO:
        data = message.data
        event = event_of_message(message.data, message.metadata)
        if event is not None and not _is_go_envelope(message.data):
            # Go's WaitEvent reads the envelope from data; the time goes as it was stored.
            data = go_envelope(event, time_text=(message.metadata or {}).get("ce_time"))
        record: dict[str, Any] = {
            "id": message.sequence,
            "channel_name": message.channel,
            "created_at": format_time(message.published_at),
            "data": _jsonable(data),
        }
        if message.metadata:
            record["metadata"] = message.metadata
        return dump(record)
    stamp = message.published_at.astimezone(UTC)
    return dump(
        {
            "id": message.message_id,
            "channel": message.channel,
            "data": _jsonable(message.data),
            "metadata": message.metadata or {},
            "published_at": stamp.isoformat() if reader == EDDA else format_time(stamp),
            "sequence": message.sequence,
        }
    )


#: Runtimes whose replay crashes on binary history rows (docs/compat.md).
NO_BINARY_READERS = (EDDA,)


def deliverable(message: StoredMessage, reader: str) -> bool:
    """Whether a message may be delivered into an instance of ``reader``: binary
    messages never go to the runtimes of :data:`NO_BINARY_READERS`."""
    return not (reader in NO_BINARY_READERS and isinstance(message.data, bytes))


def timeout_record(channel: str, timeout_at: datetime | None) -> str:
    """Our ``MessageTimeout`` event data (Edda's keys, which both we and Edda read)."""
    return dump(
        {
            "_error": True,
            "error_type": "TimeoutError",
            "error_message": f"Message on channel '{channel}' did not arrive within timeout",
            "channel": channel,
            "timeout_at": format_time(timeout_at) if timeout_at else None,
        }
    )


def message_columns(
    data: Any, metadata: dict[str, Any] | None
) -> tuple[str, str | None, bytes | None, str | None]:
    """``(data_type, data, data_binary, metadata)`` for a ``channel_messages`` row."""
    data_type, text, binary = payload_columns(data if isinstance(data, bytes) else dump(data))
    return data_type, text, binary, dump(metadata) if metadata else None


def cloudevent_message(event: CloudEvent) -> tuple[Any, dict[str, Any]]:
    """A CloudEvent as channel message ``(data, metadata)`` in Edda's layout (docs/compat.md).

    Like Edda, ``dataschema`` travels among the extensions and ``published_at`` records
    the ingestion time; ``ce_specversion`` is ours (readers ignore keys they do not know).
    Raises :class:`~romancy.errors.InvalidValueError` when the attributes together are
    too large to store (:data:`~romancy.cloudevent.ATTRIBUTES_MAX_BYTES`).
    """
    metadata: dict[str, Any] = {
        "ce_type": event.type,
        "ce_source": event.source,
        "ce_id": event.id,
        "ce_specversion": event.specversion,
        "ce_time": _time_text(event),
        "ce_datacontenttype": event.datacontenttype,
        "ce_subject": event.subject,
    }
    extensions = _extensions(event)
    if extensions:
        metadata["ce_extensions"] = extensions
    metadata["published_at"] = format_time(datetime.now(UTC))
    check_text(dump(metadata), "the event's attributes as stored", max_bytes=ATTRIBUTES_MAX_BYTES)
    return event.data, metadata


def go_envelope(event: CloudEvent, *, time_text: Any = None) -> dict[str, Any]:
    """The envelope Go Romancy stores and reads as a CloudEvent-derived message's data.

    ``time_text`` is the time as a stored message carries it, relayed unchanged (a
    peer's text is never reparsed); without it, the event's time as we store it.
    """
    envelope: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "specversion": event.specversion,
    }
    time = time_text if time_text is not None else _time_text(event)
    if time:
        envelope["time"] = time
    if event.data is not None:
        envelope["data"] = _jsonable(event.data)
    extensions = _extensions(event)
    if extensions:
        envelope["extensions"] = extensions
    return envelope


def _time_text(event: CloudEvent) -> str | None:
    """The event's time as our stored events carry it (``datetime.isoformat``)."""
    return event.time.isoformat() if event.time else None


def _extensions(event: CloudEvent) -> dict[str, Any]:
    """The extension attributes, with ``dataschema`` among them: neither peer's layout
    has a place of its own for it."""
    if event.dataschema is None:
        return event.extensions
    return {**event.extensions, "dataschema": event.dataschema}


# ----------------------------------------------------------------------- reading


def read_delivered(record: HistoryRecord) -> MessageView:
    """A received message from a history row in any runtime's layout."""
    data = event_payload(record)
    if isinstance(data, bytes):  # Edda's binary delivery: raw bytes, no envelope
        return MessageView(id="", channel="", data=data, metadata={}, published_at=None)
    if not isinstance(data, dict):
        raise ValueError(f"unrecognised received-message record {record.activity_id!r}")
    raw_id = data.get("id")
    sequence = data.get("sequence") if isinstance(data.get("sequence"), int) else None
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        sequence = sequence or raw_id
    when = data.get("published_at") or data.get("created_at")
    published = parse_time(when) if isinstance(when, str) and when[:4] != "0001" else None
    return MessageView(
        id=str(raw_id) if raw_id is not None else "",
        channel=str(data.get("channel") or data.get("channel_name") or ""),
        data=_from_jsonable(data.get("data", data.get("payload"))),
        metadata=data.get("metadata") or {},
        published_at=published,
        sequence=sequence,
    )


def read_stored(row: MessageRecord) -> StoredMessage:
    """A ``channel_messages`` row, decoded (any writer)."""
    data: Any = row.data_binary if row.data_type == DataType.BINARY else loads(row.data)
    meta = loads(row.metadata)
    return StoredMessage(
        row.sequence,
        row.message_id,
        row.channel,
        data,
        meta if isinstance(meta, dict) else None,
        row.published_at,
    )


def event_of_message(data: Any, metadata: dict[str, Any] | None) -> CloudEvent | None:
    """The CloudEvent a channel message carries, in either peer's layout (docs/compat.md).

    A time no ISO 8601 reader understands reads as ``None``.
    """
    meta = metadata or {}
    if "ce_type" in meta:  # Edda's layout: payload in data, attributes in metadata
        return CloudEvent(
            id=str(meta.get("ce_id") or ""),
            type=str(meta["ce_type"]),
            source=str(meta.get("ce_source") or "unknown"),
            specversion=str(meta.get("ce_specversion") or SPECVERSION),
            time=_read_time(meta.get("ce_time")),
            datacontenttype=meta.get("ce_datacontenttype"),
            subject=meta.get("ce_subject"),
            extensions=dict(meta.get("ce_extensions") or {}),
            data=data,
        )
    if _is_go_envelope(data):  # Go's layout: the whole envelope in data
        return CloudEvent(
            id=str(data["id"]),
            type=str(data["type"]),
            source=str(data["source"]),
            specversion=str(data.get("specversion") or SPECVERSION),
            time=_read_time(data.get("time")),
            extensions=dict(data.get("extensions") or {}),
            data=data.get("data"),
        )
    return None


def _read_time(value: Any) -> datetime | None:
    """A stored event's time, or ``None`` when it is absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def addressed_elsewhere(message: StoredMessage, instance_id: str) -> bool:
    """Whether ``message`` is a CloudEvent targeted at an instance other than this one.

    Edda publishes a targeted event to the plain channel and delivers it to its target
    only, leaving it pending for every other broadcast subscriber (docs/compat.md);
    we skip such messages instead of handing them to the wrong instance.
    """
    event = event_of_message(message.data, message.metadata)
    if event is None:
        return False
    targets = {
        str(event.extensions[k]) for k in (ROMANCY_TARGET, EDDA_TARGET) if event.extensions.get(k)
    }
    return bool(targets) and instance_id not in targets


def _is_go_envelope(data: Any) -> bool:
    return isinstance(data, dict) and all(
        k in data for k in ("specversion", "type", "source", "id")
    )


def _jsonable(value: Any) -> Any:
    """Bytes travel in JSON records as base64 text (``{"_binary": true, "data": …}``)."""
    if isinstance(value, bytes):
        return {"_binary": True, "data": base64.b64encode(value).decode("ascii")}
    return value


def _from_jsonable(value: Any) -> Any:
    """The bytes :func:`_jsonable` wrapped; any other value as it is."""
    if (
        isinstance(value, dict)
        and value.keys() == {"_binary", "data"}
        and value["_binary"] is True
        and isinstance(value["data"], str)
    ):
        return base64.b64decode(value["data"])
    return value
