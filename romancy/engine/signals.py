"""Suspension signals: how workflow code tells the engine to stop and wait.

They derive from :class:`BaseException`, not :class:`Exception`, so a workflow's
``except Exception:`` does not swallow them by accident (the same reason asyncio's
``CancelledError`` does). Workflow code never raises them itself: ``sleep``, ``receive``
and ``recur`` do.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any


class SuspendType(enum.Enum):
    """Why a workflow suspended."""

    TIMER = "timer"
    CHANNEL_MESSAGE = "channel_message"
    RECUR = "recur"


class SuspendSignal(BaseException):
    """The workflow must stop here; the engine persists the wait and releases the lock."""

    kind: SuspendType

    def __str__(self) -> str:
        return f"workflow suspended: {self.kind.value}"


class TimerSuspend(SuspendSignal):
    kind = SuspendType.TIMER

    def __init__(self, timer_id: str, expires_at: datetime) -> None:
        super().__init__(timer_id)
        self.timer_id = timer_id
        self.expires_at = expires_at


class ChannelMessageSuspend(SuspendSignal):
    kind = SuspendType.CHANNEL_MESSAGE

    def __init__(self, channel: str, activity_id: str, timeout_seconds: float | None) -> None:
        super().__init__(channel)
        self.channel = channel
        self.activity_id = activity_id
        self.timeout_seconds = timeout_seconds


class RecurSuspend(SuspendSignal):
    kind = SuspendType.RECUR

    def __init__(self, input_json: Any) -> None:
        super().__init__("recur")
        self.input_json = input_json


def is_suspend_signal(error: BaseException) -> bool:
    """``error`` is a suspension signal (Go's ``IsSuspendSignal``)."""
    return isinstance(error, SuspendSignal)


class LostOwnership(Exception):
    """Another worker took this instance over; this run must stop without writing."""
