"""The engine: starts, resumes, cancels and watches workflow runs on this worker."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from romancy import hooks as h
from romancy.config import AppConfig
from romancy.engine import transitions
from romancy.engine.cancellation import finish_first
from romancy.engine.deadlines import LocalDeadlines
from romancy.engine.definitions import Workflow, WorkflowRef, WorkflowRegistry
from romancy.engine.delivery import announce_resumable, wake_waiters
from romancy.engine.run import WorkflowRun
from romancy.engine.runtime import Outcome
from romancy.engine.signals import ChannelMessageSuspend
from romancy.engine.waiting import OutcomeWaiters
from romancy.errors import (
    InvalidValueError,
    RomancyError,
    WorkflowNotCancellableError,
    WorkflowNotFoundError,
    WorkflowNotRegisteredError,
)
from romancy.hooks import WorkflowHooks
from romancy.limits import check_name
from romancy.serialization import loads
from romancy.storage import Storage, TimerRecord, WaitingSubscriber, is_transient
from romancy.wire.status import ACTIVE_STATUSES, InstanceStatus

log = logging.getLogger("romancy.engine")


@dataclass
class _Running:
    run: WorkflowRun
    task: asyncio.Task[None]
    outcome: Outcome | None = None


class Engine:
    """Owns this worker's workflow runs and the leases that protect them.

    Built from the worker's configuration, its registry of workflows and its hooks;
    storage is attached when the worker opens it. ``owner`` (the App) is only handed
    on to workflow code as ``ctx.app``.
    """

    def __init__(
        self,
        config: AppConfig,
        registry: WorkflowRegistry,
        hooks: WorkflowHooks,
        *,
        owner: Any = None,
    ) -> None:
        self.config = config
        self.worker_id = config.worker_id
        self.workflows = registry
        self.hooks = hooks
        self.owner = owner
        self._storage: Storage | None = None
        self._accepting = False
        self._runs: dict[str, _Running] = {}
        self._waiters = OutcomeWaiters()
        self._retries: dict[str, asyncio.Task[None]] = {}
        #: Delivered into while their run here was still ending: resumed once it has ended.
        self._rerun: set[str] = set()
        self._preparing: set[str] = set()
        self._resume_slots = asyncio.Semaphore(self.config.max_concurrent_resumptions)
        #: Set when there may be work for the resumption loop.
        self.resume_wakeup = asyncio.Event()
        #: Timers and receive deadlines registered here: their checks may run early.
        self.timers = LocalDeadlines()
        self.message_deadlines = LocalDeadlines()
        self.activity_substitutes: dict[str, Callable[..., Any]] = {}  # test fakes, by name

    @property
    def storage(self) -> Storage:
        """The open storage (once the worker has started)."""
        if self._storage is None:
            raise RomancyError("the App is not started; call await app.start() first")
        return self._storage

    def attach(self, storage: Storage) -> None:
        """Run on ``storage`` (opened by the worker) from now on."""
        self._storage, self._accepting = storage, True

    def workflow_named(self, name: str) -> Workflow[Any, Any] | None:
        """The workflow registered here as ``name``."""
        return self.workflows.get(name)

    # ------------------------------------------------------------------- starting

    async def start(self, workflow: WorkflowRef, input: Any, instance_id: str | None = None) -> str:
        """Create the instance (locked by us) and run it in the background; ``workflow`` is
        a workflow or the name of one registered here."""
        if isinstance(workflow, str):
            found = self.workflows.get(workflow)
            if found is None:
                raise WorkflowNotRegisteredError(
                    f"workflow {workflow!r} is not registered with this App"
                )
            workflow = found
        elif not isinstance(workflow, Workflow):
            raise InvalidValueError(
                "start_workflow takes a workflow (defined with @romancy.workflow) or the "
                f"name of one registered with this App, not {type(workflow).__name__}"
            )
        instance_id = str(uuid.uuid4()) if instance_id is None else instance_id
        check_name(instance_id, "instance id")
        self.workflows.register(workflow)
        input_json = await transitions.create_locked(
            self.storage, self.config, workflow, instance_id, input
        )
        await h.emit(
            self.hooks.on_workflow_start,
            h.WorkflowStartInfo(instance_id, workflow.name, input, datetime.now(UTC)),
        )
        self._spawn(WorkflowRun(self, instance_id, workflow, input_json, [], resumed=False))
        return instance_id

    async def resume(self, instance_id: str, *, limited: bool = False) -> bool:
        """Lock and run an instance of ours from its history; ``False`` if not possible here."""
        if instance_id in self._runs or instance_id in self._preparing:
            return False
        if limited:
            await self._resume_slots.acquire()
        # Locking, loading and spawning end together even if a shutdown interrupts: a lock
        # taken with no run to hand it back would bar everyone until its lease ran out.
        return await finish_first(self._start_resumed(instance_id, limited))

    async def _start_resumed(self, instance_id: str, limited: bool) -> bool:
        run = None
        try:
            run = await self._prepare(instance_id)
        finally:
            if run is None and limited:
                self._resume_slots.release()
        if run is None:
            return False
        self._spawn(run, release_slot=limited)
        return True

    async def _prepare(self, instance_id: str) -> WorkflowRun | None:
        """Lock an instance and load what running it needs.

        At most one preparation per instance at a time: the lock is re-entrant for this
        worker, so two concurrent resumes of one instance would both get it.
        """
        if instance_id in self._runs or instance_id in self._preparing:
            return None
        self._preparing.add(instance_id)
        try:
            return await self._load(instance_id)
        finally:
            self._preparing.discard(instance_id)

    async def _load(self, instance_id: str) -> WorkflowRun | None:
        storage = self.storage
        if not await storage.locks.try_lock_instance(
            instance_id, self.worker_id, self.config.stale_lock_timeout
        ):
            return None
        instance = await storage.instances.get_instance(instance_id)
        workflow = self.workflows.get(instance.workflow_name) if instance else None
        if (
            instance is None
            or workflow is None
            or instance.framework != self.config.framework
            or instance.status not in (*ACTIVE_STATUSES, InstanceStatus.CANCELLED)
        ):
            await storage.locks.unlock_instance(instance_id, self.worker_id)
            return None
        history = await storage.history.load_history(instance_id)
        return WorkflowRun(
            self, instance_id, workflow, loads(instance.input_data), history, status=instance.status
        )

    def _spawn(self, run: WorkflowRun, *, release_slot: bool = False) -> None:
        # A fresh context: a workflow started or resumed from inside an activity must not
        # inherit that activity's session.
        task = asyncio.create_task(
            run.run(),
            name=f"romancy:{run.workflow.name}:{run.instance_id}",
            context=contextvars.Context(),
        )
        self._runs[run.instance_id] = _Running(run, task)

        def done(finished: asyncio.Task[None]) -> None:
            current = self._runs.get(run.instance_id)
            if current is not None and current.task is finished:
                del self._runs[run.instance_id]
                # Suspended or handed back: whoever waits goes back to reading the database.
                self._waiters.wake(run.instance_id, None)
                if run.instance_id in self._rerun:
                    self._rerun.discard(run.instance_id)
                    self.retry_later(run.instance_id, delay=0)
            if release_slot:
                self._resume_slots.release()
            if not finished.cancelled() and finished.exception() is not None:
                log.error("run of %s crashed", run.instance_id, exc_info=finished.exception())

        task.add_done_callback(done)

    # ------------------------------------------------------- endings, cancelling

    def finished(self, outcome: Outcome) -> None:
        """A local run ended: hand its outcome to whoever waits, without a database read."""
        running = self._runs.get(outcome.instance_id)
        if running is not None:
            running.outcome = outcome
        self._waiters.wake(outcome.instance_id, outcome)

    async def wait(self, instance_id: str, timeout: float | None) -> Outcome:
        """The instance's outcome once it is completed, failed or cancelled."""
        return await self._waiters.wait(self.storage, self._local_state, instance_id, timeout)

    def _local_state(self, instance_id: str) -> tuple[bool, Outcome | None]:
        running = self._runs.get(instance_id)
        return (running is not None, running.outcome if running is not None else None)

    async def cancel(self, instance_id: str, reason: str) -> None:
        """Cancel an instance: compensate and end it ``cancelled`` wherever it stands."""
        instance = await self.storage.instances.get_instance(instance_id)
        if instance is None:
            raise WorkflowNotFoundError(instance_id)
        if instance.status in (InstanceStatus.COMPLETED, InstanceStatus.FAILED):
            raise WorkflowNotCancellableError(
                f"cannot cancel {instance.status} workflow instance {instance_id}"
            )
        if instance.status == InstanceStatus.CANCELLED:
            return
        local = self._runs.get(instance_id)
        if local is not None:
            giving_back = local.run.releasing  # suspending or ending: let it, then decide
            if not giving_back:
                local.run.request_cancel(reason)
                local.task.cancel()
            await asyncio.gather(local.task, return_exceptions=True)
            if giving_back:
                await self.cancel(instance_id, reason)
            return
        if not await self.mark_cancelled(instance_id, reason):
            await self.cancel(instance_id, reason)  # its status moved meanwhile: decide again
            return
        # Compensate and finish here if nobody holds it. A holder elsewhere sees the
        # status at its next lease renewal and does it; a worker that defines the workflow
        # finishes cancellations nobody could (holder died, workflow not defined here).
        if await self.resume(instance_id) and (local := self._runs.get(instance_id)):
            await asyncio.gather(local.task, return_exceptions=True)

    async def mark_cancelled(self, instance_id: str, reason: str) -> bool:
        """Record the cancellation and set the status, atomically; ``False`` if not active."""
        return await transitions.mark_cancelled(self.storage, instance_id, reason)

    # --------------------------------------------------------------- leases, retries

    async def renew_leases(self) -> None:
        """Extend the leases of local runs; stop runs whose lock or instance changed."""
        if not self._runs:
            return
        # Judge only the runs the database was asked about: a run that starts during the
        # round trip is absent from the answer without having lost anything.
        asked = dict(self._runs)
        held = await self.storage.locks.renew_instance_locks(
            self.worker_id, list(asked), self.config.stale_lock_timeout
        )
        for instance_id, running in asked.items():
            if self._runs.get(instance_id) is not running or running.run.releasing:
                continue  # ended, replaced or giving its lock back meanwhile
            status = held.get(instance_id)
            if status is None:
                log.warning("instance %s: lock lost; stopping the local run", instance_id)
                running.run.shutting_down = True
                running.task.cancel()
            elif status == InstanceStatus.CANCELLED and running.run.cancel_reason is None:
                running.run.request_cancel("cancelled by another worker")
                running.task.cancel()

    def retry_later(self, instance_id: str, delay: float = 1.0) -> None:
        """Resume a run that hit a database outage, with backoff, until it gets through."""
        if instance_id in self._retries or not self._accepting:
            return  # a shutdown hands everything back instead

        async def retry() -> None:
            wait = delay
            try:
                while True:
                    await asyncio.sleep(wait)
                    try:
                        await self.resume(instance_id)
                        return
                    except Exception as error:
                        if not is_transient(error):
                            raise
                        wait = min(max(wait * 2, 1.0), 30.0)
            finally:
                self._retries.pop(instance_id, None)

        self._retries[instance_id] = asyncio.create_task(retry(), context=contextvars.Context())

    # ------------------------------------------------------------ messages, timers

    async def message_wait_registered(
        self, instance_id: str, signal: ChannelMessageSuspend
    ) -> None:
        """A local workflow now waits on a channel.

        A message published between its last look and the wait going on record found no
        waiter to wake (the workflow held its lock): deliver it now. A deadline sooner than
        the next timeout check wakes that check early.
        """
        if signal.timeout_seconds is not None:
            self.message_deadlines.add(
                datetime.now(UTC) + timedelta(seconds=signal.timeout_seconds)
            )
        await wake_waiters(
            self.storage,
            self.worker_id,
            signal.channel,
            only_instance=instance_id,
            delivered=self.delivered,
        )

    async def delivered(self, waiting: WaitingSubscriber) -> None:
        """A message was delivered into ``waiting``: run it here at once if it is ours."""
        if waiting.framework == self.config.framework and waiting.workflow_name in self.workflows:
            if waiting.instance_id in self._runs:
                # Its run here is still ending (it suspended a moment ago, or this is the
                # delivery it makes for itself on suspending): go again once it has ended,
                # instead of waiting for the next resumption poll.
                self._rerun.add(waiting.instance_id)
                return
            await self.resume(waiting.instance_id)
        else:
            self.resume_wakeup.set()

    def timer_registered(self, expires_at: datetime) -> None:
        """A local workflow went to sleep: wake the timer check early if it is sooner."""
        self.timers.add(expires_at)

    async def fire_timer(self, timer: TimerRecord) -> bool:
        """Record an expired timer and resume its workflow here, or hand it back to the
        workers of the service that defines it (leader only)."""
        # Finished even if a shutdown interrupts: it holds the instance's lock.
        return await finish_first(self._fire_timer(timer))

    async def _fire_timer(self, timer: TimerRecord) -> bool:
        if timer.instance_id in self._runs or timer.instance_id in self._preparing:
            return False
        if not await transitions.record_timer_fired(
            self.storage, self.worker_id, self.config.stale_lock_timeout, timer
        ):
            return False
        await h.emit(
            self.hooks.on_timer_fired,
            h.TimerFiredInfo(
                timer.instance_id, timer.workflow_name, timer.timer_id, datetime.now(UTC)
            ),
        )
        if timer.workflow_name not in self.workflows:
            # Services that define different workflows share one leader: hand the instance
            # back, running and unlocked, to the workers that define it, and wake them.
            await self.storage.locks.unlock_instance(timer.instance_id, self.worker_id)
            await announce_resumable(self.storage, timer.instance_id, timer.workflow_name)
            return True
        run = await self._prepare(timer.instance_id)  # we hold the lock: re-entrant
        if run is not None:
            self._spawn(run)
        return True

    # --------------------------------------------------------------------- shutdown

    @property
    def running(self) -> Iterable[str]:
        """Instance ids running on this worker now."""
        return tuple(self._runs)

    async def shutdown(self, timeout: float) -> None:
        """Let runs reach a resting point for ``timeout`` s, then hand the rest back."""
        self._accepting = False
        for task in self._retries.values():
            task.cancel()
        tasks = [r.task for r in self._runs.values()]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            for running in list(self._runs.values()):
                running.run.shutting_down = True
                running.task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
