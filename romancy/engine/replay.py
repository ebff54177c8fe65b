"""Recorded history, as the replaying workflow consumes it.

A resumed workflow re-executes from the top; each step asks the log for its recorded
outcome by activity id. The log also guards determinism: while recorded steps remain
unconsumed, code that reaches a step the history does not have has taken another path,
and replaying on would return the wrong results.
"""

from __future__ import annotations

from romancy.errors import NonDeterminismError
from romancy.storage.records import HistoryRecord
from romancy.wire.history import is_step_record


class ReplayLog:
    """The history of one instance, consumed step by step."""

    def __init__(self, records: list[HistoryRecord]) -> None:
        self._steps: dict[str, HistoryRecord] = {
            record.activity_id: record for record in records if is_step_record(record)
        }
        self.total = len(records)
        self.cache_hits = 0
        self.new_activities = 0  # activities this run executes (not read from history)

    @property
    def replaying(self) -> bool:
        """Recorded steps remain that the code has not reached yet."""
        return bool(self._steps)

    def ahead(self) -> list[str]:
        """Ids of the recorded steps not reached yet, in the order they were written."""
        return sorted(self._steps, key=lambda a: self._steps[a].id)

    def take(self, activity_id: str) -> HistoryRecord | None:
        """The recorded outcome of ``activity_id`` (consumed), or ``None`` if not recorded."""
        record = self._steps.pop(activity_id, None)
        if record is not None:
            self.cache_hits += 1
        return record

    def ensure_new_step_allowed(self, activity_id: str, workflow_name: str) -> None:
        """Refuse a step the history lacks while recorded steps are still ahead."""
        if not self._steps:
            return
        ahead = ", ".join(self.ahead()[:3])
        raise NonDeterminismError(
            f"workflow {workflow_name!r} reached step {activity_id!r}, which its history "
            f"does not record, while recorded steps are still ahead ({ahead}). The workflow "
            "code changed in a way that is not replay-compatible; finish or cancel old "
            "instances before deploying it, or give new steps explicit ids."
        )
