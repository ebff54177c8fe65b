"""Waiting for an instance's outcome: woken by a local run's ending, polling otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from romancy.engine.runtime import Outcome
from romancy.errors import WorkflowNotFoundError
from romancy.storage import Storage
from romancy.wire.status import TERMINAL_STATUSES, InstanceStatus

#: For an instance id: whether it runs on this worker, and its outcome once it ended.
LocalState = Callable[[str], tuple[bool, Outcome | None]]


class OutcomeWaiters:
    """The callers waiting for instances' outcomes, one future per instance."""

    def __init__(self) -> None:
        self._futures: dict[str, asyncio.Future[Outcome | None]] = {}

    def wake(self, instance_id: str, outcome: Outcome | None) -> None:
        """Hand ``outcome`` to the waiters of ``instance_id``; ``None`` sends them back to
        reading the database (the run suspended or was handed back)."""
        future = self._futures.pop(instance_id, None)
        if future is not None and not future.done():
            future.set_result(outcome)

    async def wait(
        self, storage: Storage, local: LocalState, instance_id: str, timeout: float | None
    ) -> Outcome:
        """The instance's outcome once it is completed, failed or cancelled."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        poll = 0.05
        while True:
            remaining = None if deadline is None else deadline - loop.time()
            running_here, ended = local(instance_id)
            if running_here:
                if ended is not None:
                    return ended
                # Runs here: no polling; woken with the outcome, or with None when the
                # run stops short of an ending (it suspended or was handed back).
                future = self._futures.setdefault(instance_id, loop.create_future())
                try:
                    outcome = await asyncio.wait_for(asyncio.shield(future), remaining)
                except TimeoutError:
                    raise _timed_out(instance_id, timeout, InstanceStatus.RUNNING) from None
                if outcome is not None:
                    return outcome
                continue
            instance = await storage.instances.get_instance(instance_id)
            if instance is None:
                raise WorkflowNotFoundError(instance_id)
            if instance.status in TERMINAL_STATUSES:
                return Outcome.of(instance)
            if remaining is not None and remaining <= 0:
                raise _timed_out(instance_id, timeout, instance.status)
            future = self._futures.setdefault(instance_id, loop.create_future())
            try:
                await asyncio.wait_for(
                    asyncio.shield(future), poll if remaining is None else min(poll, remaining)
                )
            except TimeoutError:
                poll = min(poll * 2, 1.0)


def _timed_out(instance_id: str, timeout: float | None, status: str) -> TimeoutError:
    return TimeoutError(
        f"workflow instance {instance_id} did not finish within {timeout:g} s (status {status})"
    )
