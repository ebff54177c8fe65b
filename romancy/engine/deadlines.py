"""Deadlines registered on this worker, so a periodic check can run early for them."""

from __future__ import annotations

import asyncio
import heapq
from datetime import UTC, datetime, timedelta


class LocalDeadlines:
    """A heap of upcoming deadlines and an event set when a sooner one arrives."""

    def __init__(self) -> None:
        self.wakeup = asyncio.Event()
        self._heap: list[datetime] = []

    def add(self, when: datetime) -> None:
        if not self._heap or when < self._heap[0]:
            self.wakeup.set()
        heapq.heappush(self._heap, when)

    def next_check(self, checked_at: datetime, interval: float) -> float:
        """Seconds until the check should run again: ``interval``, or sooner for a local
        deadline. Stored times may have whole-second precision, so a deadline stays one
        second past due: the check repeats briefly until the database agrees."""
        while self._heap and self._heap[0] < checked_at - timedelta(seconds=1):
            heapq.heappop(self._heap)
        wait = interval
        if self._heap:
            until = (self._heap[0] - datetime.now(UTC)).total_seconds() + 0.05
            wait = min(wait, max(until, 0.05))
        return wait
