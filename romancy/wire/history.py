"""History records: the ``event_type`` names, our own shapes, and liberal readers.

We replay only our own instances, but rows in them may be written by peers (a lock-first
channel delivery from Go or Edda) and older rows may use either peer's layout, so every
reader here accepts all known shapes (docs/compat.md). What we write is one documented shape
per event type (``schema/json/`` describes it):

===========================  ======================  =====================================
event_type                   activity_id             event_data
===========================  ======================  =====================================
``ActivityCompleted``        ``<name>:<n>`` / own    ``{"activity_name", "result"}``
``ActivityFailed``           ``<name>:<n>`` / own    ``{"activity_name", "error_type",
                                                     "error_message", "terminal",
                                                     "attempts"}``
``TimerExpired``             timer id (``sleep:n``)  ``{"timer_id", "expires_at", "result"}``
``CompensationExecuted``     ``compensation:<id>``   ``{"compensation_id", "activity_id",
                                                     "activity_name"}``
``CompensationFailed``       ``compensation:<id>``   same plus ``"error_type"``,
                                                     ``"error_message"``
``WorkflowFailed``           ``workflow_failed``     ``{"error_type", "error_message",
                                                     "stack_trace"}``
``WorkflowCancelled``        ``workflow_cancelled``  ``{"reason"}``
``ActivityCompleted``        ``romancy.carried``     ``{"activity_name": "romancy.carried",
                                                     "result": {<hooks' strings>}}``
===========================  ======================  =====================================

The ``romancy.carried`` row is bookkeeping, not a step: what the App's hooks keep from one
run of an instance to the next (``romancy.otel``: the W3C trace context). It is an
``ActivityCompleted`` row so every reader and the shared JSON Schema accept it; no
generated step id can equal it (those are ``<name>:<n>``) and explicit ids may not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from romancy.serialization import format_time, loads
from romancy.storage.records import HistoryRecord
from romancy.wire.status import DataType

ACTIVITY_COMPLETED = "ActivityCompleted"
ACTIVITY_FAILED = "ActivityFailed"
TIMER_EXPIRED = "TimerExpired"
CHANNEL_MESSAGE_RECEIVED = "ChannelMessageReceived"
MESSAGE_TIMEOUT = "MessageTimeout"
EVENT_RECEIVED = "EventReceived"
COMPENSATION_EXECUTED = "CompensationExecuted"
COMPENSATION_FAILED = "CompensationFailed"
WORKFLOW_FAILED = "WorkflowFailed"
WORKFLOW_CANCELLED = "WorkflowCancelled"

WORKFLOW_FAILED_ID = "workflow_failed"
WORKFLOW_CANCELLED_ID = "workflow_cancelled"
CARRIED_ID = "romancy.carried"

#: Rows that record a step of the workflow's own code (as opposed to bookkeeping rows
#: about compensations or the workflow's end). Replay checks these for determinism.
STEP_EVENTS = frozenset(
    {
        ACTIVITY_COMPLETED,
        ACTIVITY_FAILED,
        TIMER_EXPIRED,
        CHANNEL_MESSAGE_RECEIVED,
        MESSAGE_TIMEOUT,
        EVENT_RECEIVED,
    }
)


def compensation_activity_id(compensation_id: int) -> str:
    """History key of a compensation's outcome (Go's ``compensation:<id>`` form)."""
    return f"compensation:{compensation_id}"


def is_compensation_record(activity_id: str) -> bool:
    """Both peers' compensation keys: ``compensation:<id>`` (Go, ours), ``compensation_<id>``."""
    return activity_id.startswith(("compensation:", "compensation_"))


#: Go's key for a delivery it repeats into any runtime's instance (``channel:<name>:<n>``).
#: No step of ours may use it, so such a row is never handed to a step (docs/compat.md).
_GO_DELIVERY_KEY = re.compile(r"channel:.+:[0-9]+", re.DOTALL)


def is_go_delivery_key(activity_id: str) -> bool:
    """Whether ``activity_id`` has the form of Go's repeated-delivery key."""
    return _GO_DELIVERY_KEY.fullmatch(activity_id) is not None


def is_step_record(record: HistoryRecord) -> bool:
    """A row replay hands to a step (not a compensation's, the hooks' bookkeeping, nor a
    delivery Go repeated under its own key)."""
    return (
        record.event_type in STEP_EVENTS
        and record.activity_id != CARRIED_ID
        and not is_compensation_record(record.activity_id)
        and not (
            record.event_type == CHANNEL_MESSAGE_RECEIVED and is_go_delivery_key(record.activity_id)
        )
    )


@dataclass(frozen=True)
class StepOutcome:
    """What a recorded step returns or raises on replay."""

    kind: str  # "result" or "error"
    activity_name: str | None = None
    result: Any = None
    error_type: str = ""
    error_message: str = ""
    terminal: bool = False
    attempts: int = 0


# ------------------------------------------------------------------------- writers


def activity_completed(activity_name: str, result: Any) -> str:
    return dump({"activity_name": activity_name, "result": result})


def activity_failed(
    activity_name: str, error: BaseException, *, terminal: bool, attempts: int
) -> str:
    outcome = {"terminal": terminal, "attempts": attempts}
    return dump({"activity_name": activity_name} | failure_fields(error) | outcome)


@dataclass(frozen=True, slots=True)
class Row:
    """A row the engine writes once, beside the steps: its key, event type and JSON text."""

    activity_id: str
    event_type: str
    data: str


def timer_expired(timer_id: str, expires_at: datetime) -> Row:
    # "result": null lets an Edda-shaped reader treat it like its own TimerExpired.
    data = {"timer_id": timer_id, "expires_at": format_time(expires_at), "result": None}
    return Row(timer_id, TIMER_EXPIRED, dump(data))


def compensation_outcome(
    compensation_id: int, activity_id: str, activity_name: str, error: BaseException | None
) -> Row:
    data: dict[str, Any] = {
        "compensation_id": compensation_id,
        "activity_id": activity_id,
        "activity_name": activity_name,
    }
    event_type = COMPENSATION_EXECUTED
    if error is not None:
        data |= failure_fields(error)
        event_type = COMPENSATION_FAILED
    return Row(compensation_activity_id(compensation_id), event_type, dump(data))


def workflow_failed(error: BaseException, stack_trace: str) -> Row:
    data = failure_fields(error) | {"stack_trace": stack_trace}
    return Row(WORKFLOW_FAILED_ID, WORKFLOW_FAILED, dump(data))


def workflow_cancelled(reason: str) -> Row:
    return Row(WORKFLOW_CANCELLED_ID, WORKFLOW_CANCELLED, dump({"reason": reason}))


def carried(values: Mapping[str, str]) -> Row:
    return Row(CARRIED_ID, ACTIVITY_COMPLETED, activity_completed(CARRIED_ID, dict(values)))


def failure_fields(error: BaseException | tuple[str, str]) -> dict[str, str]:
    """``{"error_type", "error_message"}`` of an exception, or of the pair
    :func:`read_failure` gave: how every failure is recorded (history and ``output_data``)."""
    error_type, message = (
        (type(error).__name__, str(error)) if isinstance(error, BaseException) else error
    )
    return {"error_type": error_type, "error_message": message}


# ------------------------------------------------------------------------- readers


def event_payload(record: HistoryRecord) -> Any:
    """The JSON value of a row (binary rows come back as bytes; empty text as ``None``)."""
    if record.data_type == DataType.BINARY:
        return record.event_data_binary
    return loads(record.event_data)


def read_step(record: HistoryRecord) -> StepOutcome:
    """How a recorded activity or timer step replays, whichever runtime wrote it."""
    data = event_payload(record)
    if record.event_type in (ACTIVITY_FAILED, MESSAGE_TIMEOUT):
        error_type, message = read_failure(data)
        fields = data if isinstance(data, dict) else {}
        return StepOutcome(
            "error",
            fields.get("activity_name"),
            error_type=error_type,
            error_message=message,
            terminal=bool(fields.get("terminal")),
            attempts=int(fields.get("attempts") or 0),
        )
    if isinstance(data, dict) and "activity_name" in data and "result" in data:
        return StepOutcome("result", data["activity_name"], result=data["result"])
    if record.event_type == TIMER_EXPIRED and isinstance(data, dict):
        return StepOutcome("result", result=data.get("result"))
    # Go writes an activity's result raw, without a wrapper.
    return StepOutcome("result", result=data)


def read_failure(data: Any) -> tuple[str, str]:
    """``(error_type, error_message)`` of a recorded failure in any runtime's shape: ours
    and Edda's ``{"error_type", "error_message"}``, Go's and Edda's ``{"error"}``, or Go's
    bare JSON string. A missing type reads ``"Error"``."""
    if isinstance(data, dict):
        return (
            str(data.get("error_type") or "Error"),
            str(data.get("error_message") or data.get("error") or ""),
        )
    return "Error", str(data or "")


def failure_of(record: HistoryRecord) -> tuple[str, str]:
    """``(error_type, error_message)`` of a ``WorkflowFailed`` row in either peer's shape."""
    return read_failure(event_payload(record))


def cancel_reason(record: HistoryRecord) -> str:
    """The reason stored in a ``WorkflowCancelled`` row (empty when none was given)."""
    data = event_payload(record)
    return str(data.get("reason") or "") if isinstance(data, dict) else ""


def carried_of(records: list[HistoryRecord]) -> dict[str, str]:
    """The strings of the ``romancy.carried`` row (empty when there is none, or it is not
    ours to read)."""
    for record in records:
        if record.activity_id == CARRIED_ID and record.data_type != DataType.BINARY:
            try:
                data = event_payload(record)
            except ValueError:
                return {}
            values = data.get("result") if isinstance(data, dict) else None
            if isinstance(values, dict):
                return {k: v for k, v in values.items() if isinstance(v, str)}
    return {}


def dump(value: Any) -> str:
    """Compact, ASCII-only JSON text (see :func:`romancy.serialization.dumps`): how every
    record is written."""
    return json.dumps(value, separators=(",", ":"))
