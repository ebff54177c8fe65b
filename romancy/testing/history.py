"""An instance's history as typed records, with the assertions tests make on it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from romancy.storage import HistoryRecord
from romancy.wire import history as wire

_UNSET: Any = object()


@dataclass(frozen=True)
class HistoryEvent:
    """One history row, decoded.

    ``step_id`` is the step's id (``charge_card:1``, ``sleep:1``…); ``name`` the activity
    it recorded (``None`` for timers and bookkeeping rows). ``result`` is the recorded
    JSON value; a failure has ``error_type`` and ``error_message`` instead.
    """

    step_id: str
    event_type: str
    name: str | None
    result: Any = None
    error_type: str | None = None
    error_message: str | None = None

    @property
    def failed(self) -> bool:
        """The step recorded a failure (an activity error or a receive timeout)."""
        return self.error_type is not None

    @classmethod
    def of(cls, record: HistoryRecord) -> HistoryEvent:
        if record.event_type not in wire.STEP_EVENTS:
            payload = wire.event_payload(record)
            name = payload.get("activity_name") if isinstance(payload, dict) else None
            return cls(record.activity_id, record.event_type, name, payload)
        step = wire.read_step(record)
        if step.kind == "error":
            return cls(
                record.activity_id,
                record.event_type,
                step.activity_name,
                error_type=step.error_type,
                error_message=step.error_message,
            )
        return cls(record.activity_id, record.event_type, step.activity_name, step.result)


class History(Sequence[HistoryEvent]):
    """The events of one instance in the order they were written."""

    def __init__(self, events: Sequence[HistoryEvent]) -> None:
        self._events = tuple(events)

    @overload
    def __getitem__(self, index: int) -> HistoryEvent: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[HistoryEvent]: ...

    def __getitem__(self, index: int | slice) -> HistoryEvent | Sequence[HistoryEvent]:
        return self._events[index]

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[HistoryEvent]:
        return iter(self._events)

    def __repr__(self) -> str:
        return f"History({[(e.step_id, e.event_type) for e in self._events]})"

    @property
    def step_ids(self) -> list[str]:
        """Every step id, in order."""
        return [event.step_id for event in self._events]

    def activities(self) -> list[str]:
        """Names of the activities that ran (completed or failed), in order."""
        return [
            event.name
            for event in self._events
            if event.name is not None
            and event.event_type in (wire.ACTIVITY_COMPLETED, wire.ACTIVITY_FAILED)
        ]

    def step(self, step_id: str) -> HistoryEvent:
        """The event recorded for ``step_id``; ``AssertionError`` naming the steps there are."""
        for event in self._events:
            if event.step_id == step_id:
                return event
        raise AssertionError(f"no step {step_id!r} in the history; it has {self.step_ids}")

    def assert_step(
        self, step_id: str, *, event_type: str | None = None, result: Any = _UNSET
    ) -> HistoryEvent:
        """Assert that ``step_id`` was recorded (with ``event_type`` and ``result``, when
        given) and return its event."""
        event = self.step(step_id)
        if event_type is not None and event.event_type != event_type:
            raise AssertionError(
                f"step {step_id!r} recorded {event.event_type}, expected {event_type}"
            )
        if result is not _UNSET and event.result != result:
            raise AssertionError(
                f"step {step_id!r} recorded result {event.result!r}, expected {result!r}"
            )
        return event

    def assert_activities(self, *names: str) -> None:
        """Assert that exactly these activities ran, in this order."""
        ran = self.activities()
        if ran != list(names):
            raise AssertionError(f"activities ran: {ran}, expected {list(names)}")
