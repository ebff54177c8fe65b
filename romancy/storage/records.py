"""Rows as the storage layer hands them out: plain frozen dataclasses.

JSON columns stay text here; turning them into Python values (and knowing which peer
wrote them) is the job of ``romancy.wire``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
