"""NOTIFY hints shared by every runtime: the four channel names and their payloads.

Notifications are hints: every consumer (ours and the peers') also polls. A payload
carries both peers' key styles (docs/compat.md, NOTIFY payloads), so Edda's and Go's
listeners read it as their own.
"""

from __future__ import annotations

import json
from datetime import datetime

from romancy.serialization import format_time, parse_time

RESUMABLE = "workflow_resumable"
TIMER_EXPIRED = "workflow_timer_expired"
CHANNEL_MESSAGE = "workflow_channel_message"
OUTBOX_PENDING = "workflow_outbox_pending"
CHANNELS = (RESUMABLE, TIMER_EXPIRED, CHANNEL_MESSAGE, OUTBOX_PENDING)


# Keys that carry the same value: Edda reads the short ones, Go the long ones (its
# listener reads ``channel_name``, though Go itself sends ``channel``).
_INSTANCE_ID = ("wf_id", "instance_id")
_WORKFLOW_NAME = ("wf_name", "workflow_name")
_CHANNEL = ("ch", "channel", "channel_name")
_MESSAGE_ID = ("msg_id", "message_id")
_EVENT_ID = ("evt_id", "event_id")


def resumable_payload(instance_id: str, workflow_name: str) -> str:
    """An instance is ready to run (on :data:`RESUMABLE`)."""
    return _payload((_INSTANCE_ID, instance_id), (_WORKFLOW_NAME, workflow_name))


def channel_message_payload(channel: str, message_id: str) -> str:
    """A message was published on ``channel`` (on :data:`CHANNEL_MESSAGE`)."""
    return _payload((_CHANNEL, channel), (_MESSAGE_ID, message_id))


def outbox_payload(event_id: str, event_type: str) -> str:
    """An outbox event waits to be sent (on :data:`OUTBOX_PENDING`)."""
    return _payload((_EVENT_ID, event_id), (("evt_type",), event_type))


def timer_payload(instance_id: str, timer_id: str, expires_at: datetime) -> str:
    """A timer of an instance was registered (on :data:`TIMER_EXPIRED`, as Go sends it)."""
    moment = format_time(expires_at)
    return _compact({"instance_id": instance_id, "timer_id": timer_id, "expires_at": moment})


def timer_expiry(payload: str) -> datetime | None:
    """When the timer of a :data:`TIMER_EXPIRED` payload is due; ``None`` when the payload
    (any runtime's) does not say so readably."""
    try:
        expires_at = json.loads(payload).get("expires_at")
        return parse_time(expires_at) if isinstance(expires_at, str) else None
    except (ValueError, AttributeError):  # not JSON, not an object, not a time
        return None


def _payload(*fields: tuple[tuple[str, ...], str]) -> str:
    """Each value under every one of its keys."""
    return _compact({key: value for keys, value in fields for key in keys})


def _compact(value: dict[str, str]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
