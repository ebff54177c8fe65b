"""NOTIFY hints shared by every runtime: the four channel names and their payloads.

Notifications are hints: every consumer (ours and the peers') also polls. A payload
carries both peers' key styles (docs/compat.md, NOTIFY payloads), so Edda's and Go's
listeners read it as their own.
"""

from __future__ import annotations

import json
from typing import Any

RESUMABLE = "workflow_resumable"
TIMER_EXPIRED = "workflow_timer_expired"
CHANNEL_MESSAGE = "workflow_channel_message"
OUTBOX_PENDING = "workflow_outbox_pending"
CHANNELS = (RESUMABLE, TIMER_EXPIRED, CHANNEL_MESSAGE, OUTBOX_PENDING)


def resumable_payload(instance_id: str, workflow_name: str) -> str:
    """An instance is ready to run (on :data:`RESUMABLE`)."""
    return _compact(
        {
            "wf_id": instance_id,
            "wf_name": workflow_name,
            "instance_id": instance_id,
            "workflow_name": workflow_name,
        }
    )


def channel_message_payload(channel: str, message_id: str) -> str:
    """A message was published on ``channel`` (on :data:`CHANNEL_MESSAGE`)."""
    return _compact(
        {
            "ch": channel,
            "msg_id": message_id,
            "channel": channel,
            "channel_name": channel,
            "message_id": message_id,
        }
    )


def outbox_payload(event_id: str, event_type: str) -> str:
    """An outbox event waits to be sent (on :data:`OUTBOX_PENDING`)."""
    return _compact({"evt_id": event_id, "evt_type": event_type, "event_id": event_id})


def timer_payload(instance_id: str, timer_id: str, expires_at: str) -> str:
    """A timer of an instance is due (on :data:`TIMER_EXPIRED`)."""
    return _compact({"instance_id": instance_id, "timer_id": timer_id, "expires_at": expires_at})


def _compact(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
