"""The engine: starts, resumes, cancels and watches workflow runs on this worker."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from romancy import hooks as h
from romancy.engine.cancellation import finish_first
from romancy.engine.deadlines import LocalDeadlines
from romancy.engine.delivery import wake_waiters
from romancy.engine.run import Outcome, WorkflowRun
from romancy.engine.signals import ChannelMessageSuspend
from romancy.errors import (
    ConfigurationError,
    DatabaseUnavailableError,
    InvalidValueError,
    WorkflowNotCancellableError,
    WorkflowNotFoundError,
    WorkflowNotRegisteredError,
)
from romancy.limits import check_name
from romancy.serialization import dumps, loads, to_json
from romancy.storage import NewInstance, Storage, TimerRecord, WaitingSubscriber
from romancy.storage.payloads import check_payload
from romancy.wire import history as wire
from romancy.wire.status import ACTIVE_STATUSES, TERMINAL_STATUSES, InstanceStatus
from romancy.workflow import Workflow

if TYPE_CHECKING:
    from romancy.app import App

log = logging.getLogger("romancy.engine")


@dataclass
class _Running:
    run: WorkflowRun
    task: asyncio.Task[None]
    outcome: Outcome | None = None


class Engine:
    """Owns this worker's workflow runs and the leases that protect them."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.config = app.config
        self.worker_id = app.config.worker_id
        self.workflows: dict[str, Workflow[Any, Any]] = {}
        self._runs: dict[str, _Running] = {}
        self._waiters: dict[str, asyncio.Future[Outcome | None]] = {}
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

    @property
    def storage(self) -> Storage:
        return self.app.storage

    # --------------------------------------------------------------- registration

    def register(self, workflow: Workflow[Any, Any]) -> None:
        """Make ``workflow`` runnable (and resumable) on this worker."""
        existing = self.workflows.get(workflow.name)
        if existing is not None and not existing.same_definition(workflow):
            # Instances of the name would run one definition or the other depending on
            # which call registered last: refuse instead of guessing.
            raise ConfigurationError(
                f"another workflow is already registered as {workflow.name!r}; give this "
                "one a different name (a new version of the code belongs in a new deploy)"
            )
        self.workflows[workflow.name] = workflow

    def workflow_for(self, name: str) -> Workflow[Any, Any]:
        workflow = self.workflows.get(name)
        if workflow is None:
            raise WorkflowNotRegisteredError(f"workflow {name!r} is not registered with this App")
        return workflow

    # ------------------------------------------------------------------- starting

    async def start(
        self, workflow: Workflow[Any, Any] | str, input: Any, instance_id: str | None = None
    ) -> str:
        """Create the instance (already locked by us) and run it in the background.

        ``workflow`` is a workflow or the name of one registered here.
        """
        if isinstance(workflow, str):
            workflow = self.workflow_for(workflow)
        elif not isinstance(workflow, Workflow):
            raise InvalidValueError(
                "start_workflow takes a workflow (defined with @romancy.workflow) or the "
                f"name of one registered with this App, not {type(workflow).__name__}"
            )
        instance_id = str(uuid.uuid4()) if instance_id is None else instance_id
        check_name(instance_id, "instance id")
        self.register(workflow)
        what = f"input of workflow {workflow.name!r}"
        input_json = to_json(input, what=what)
        input_data = dumps(input_json)
        check_payload(self.storage, input_data, what)
        await self.storage.create_instance(
            NewInstance(
                instance_id=instance_id,
                workflow_name=workflow.name,
                source_hash=workflow.source_hash,
                source_code=workflow.source_code,
                owner_service=self.config.service_name,
                framework=self.config.framework,
                input_data=input_data,
                locked_by=self.worker_id,
                lock_seconds=self.config.stale_lock_timeout,
            )
        )
        await h.call_hook(
            self.app.hooks,
            "on_workflow_start",
            h.WorkflowStartInfo(instance_id, workflow.name, input, datetime.now(UTC)),
        )
        self._spawn(WorkflowRun(self, instance_id, workflow, input_json, []))
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
        try:
            run = await self._prepare(instance_id)
        except BaseException:
            if limited:
                self._resume_slots.release()
            raise
        if run is None:
            if limited:
                self._resume_slots.release()
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
        if not await storage.try_lock_instance(
            instance_id, self.worker_id, self.config.stale_lock_timeout
        ):
            return None
        instance = await storage.get_instance(instance_id)
        workflow = self.workflows.get(instance.workflow_name) if instance else None
        if (
            instance is None
            or workflow is None
            or instance.framework != self.config.framework
            or instance.status not in (*ACTIVE_STATUSES, InstanceStatus.CANCELLED)
        ):
            await storage.unlock_instance(instance_id, self.worker_id)
            return None
        history = await storage.load_history(instance_id)
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
            if (
                self._runs.get(run.instance_id, None)
                and self._runs[run.instance_id].task is finished
            ):
                del self._runs[run.instance_id]
                # Suspended or handed back: whoever waits goes back to reading the database.
                waiter = self._waiters.pop(run.instance_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
                if run.instance_id in self._rerun:
                    self._rerun.discard(run.instance_id)
                    self.retry_later(run.instance_id, delay=0)
            if release_slot:
                self._resume_slots.release()
            if not finished.cancelled() and finished.exception() is not None:
                log.error("run of %s crashed", run.instance_id, exc_info=finished.exception())

        task.add_done_callback(done)

    # ------------------------------------------------------------------ endings

    def finished(self, outcome: Outcome) -> None:
        """A local run ended: hand its outcome to whoever waits, without a database read."""
        running = self._runs.get(outcome.instance_id)
        if running is not None:
            running.outcome = outcome
        waiter = self._waiters.pop(outcome.instance_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(outcome)

    async def wait(self, instance_id: str, timeout: float | None) -> Outcome:
        """The instance's outcome once it is completed, failed or cancelled."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        poll = 0.05
        while True:
            remaining = None if deadline is None else deadline - loop.time()
            running = self._runs.get(instance_id)
            if running is not None:
                if running.outcome is not None:
                    return running.outcome
                # Runs here: no polling; woken with the outcome, or with None when the
                # run stops short of an ending (it suspended or was handed back).
                waiter = self._waiters.setdefault(instance_id, loop.create_future())
                try:
                    outcome = await asyncio.wait_for(asyncio.shield(waiter), remaining)
                except TimeoutError:
                    raise self._timed_out(instance_id, timeout, InstanceStatus.RUNNING) from None
                if outcome is not None:
                    return outcome
                continue
            instance = await self.storage.get_instance(instance_id)
            if instance is None:
                raise WorkflowNotFoundError(instance_id)
            if instance.status in TERMINAL_STATUSES:
                return Outcome.of(instance)
            if remaining is not None and remaining <= 0:
                raise self._timed_out(instance_id, timeout, instance.status)
            waiter = self._waiters.setdefault(instance_id, loop.create_future())
            try:
                await asyncio.wait_for(
                    asyncio.shield(waiter), poll if remaining is None else min(poll, remaining)
                )
            except TimeoutError:
                poll = min(poll * 2, 1.0)

    @staticmethod
    def _timed_out(instance_id: str, timeout: float | None, status: str) -> TimeoutError:
        return TimeoutError(
            f"workflow instance {instance_id} did not finish within {timeout:g} s (status {status})"
        )

    # ------------------------------------------------------------------ cancelling

    async def cancel(self, instance_id: str, reason: str) -> None:
        """Cancel an instance: compensate and end it ``cancelled`` wherever it stands."""
        instance = await self.storage.get_instance(instance_id)
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
            local.run.request_cancel(reason)
            local.task.cancel()
            await asyncio.gather(local.task, return_exceptions=True)
            return
        if not await self.mark_cancelled(instance_id, reason):
            await self.cancel(instance_id, reason)  # its status moved meanwhile: decide again
            return
        # Compensate and finish here if nobody holds it. A holder elsewhere sees the
        # status at its next lease renewal and does it; the leader's recovery finishes
        # cancellations nobody could (holder died, workflow not registered where asked).
        if await self.resume(instance_id) and (local := self._runs.get(instance_id)):
            await asyncio.gather(local.task, return_exceptions=True)

    async def mark_cancelled(self, instance_id: str, reason: str) -> bool:
        """Record the cancellation and set the status, atomically; ``False`` if not active."""
        storage = self.storage
        async with storage.transaction() as tx:
            changed = await storage.update_instance(
                instance_id,
                status=InstanceStatus.CANCELLED,
                only_if_status=list(ACTIVE_STATUSES),
                tx=tx,
            )
            if changed:
                await storage.channels.clear_all_waits(instance_id, tx=tx)
                await storage.append_history(
                    instance_id,
                    wire.WORKFLOW_CANCELLED_ID,
                    wire.WORKFLOW_CANCELLED,
                    wire.workflow_cancelled(reason),
                    ignore_duplicate=True,
                    tx=tx,
                )
                await storage.delete_timers(instance_id, tx=tx)
        return changed

    # --------------------------------------------------------------- leases, retries

    async def renew_leases(self) -> None:
        """Extend the leases of local runs; stop runs whose lock or instance changed."""
        if not self._runs:
            return
        # Judge only the runs the database was asked about: a run that starts during the
        # round trip is absent from the answer without having lost anything.
        asked = dict(self._runs)
        held = await self.storage.renew_instance_locks(
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
        if instance_id in self._retries or not self.app.is_running:
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
                        if not self.is_transient(error):
                            raise
                        wait = min(max(wait * 2, 1.0), 30.0)
            finally:
                self._retries.pop(instance_id, None)

        self._retries[instance_id] = asyncio.create_task(retry(), context=contextvars.Context())

    def is_transient(self, error: BaseException) -> bool:
        """An error of the database connection, not of the workflow: retry later.

        Only what storage raises counts (SQLAlchemy's wrappers of driver errors): a
        workflow that raises ``ConnectionError`` itself has failed, not the database.
        """
        if isinstance(error, DatabaseUnavailableError):
            return True
        if isinstance(error, DBAPIError):
            return error.connection_invalidated or isinstance(
                error, OperationalError | InterfaceError
            )
        return False

    # --------------------------------------------------------------------- messages

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

    # ---------------------------------------------------------------------- timers

    def timer_registered(self, expires_at: datetime) -> None:
        """A local workflow went to sleep: wake the timer check early if it is sooner."""
        self.timers.add(expires_at)

    async def fire_timer(self, timer: TimerRecord) -> bool:
        """Record an expired timer and resume its workflow here (leader only)."""
        # Finished even if a shutdown interrupts: it holds the instance's lock.
        return await finish_first(self._fire_timer(timer))

    async def _fire_timer(self, timer: TimerRecord) -> bool:
        storage = self.storage
        if (
            timer.workflow_name not in self.workflows
            or timer.instance_id in self._runs
            or timer.instance_id in self._preparing
        ):
            return False
        if not await storage.try_lock_instance(
            timer.instance_id, self.worker_id, self.config.stale_lock_timeout
        ):
            return False
        async with storage.transaction() as tx:
            moved = await storage.update_instance(
                timer.instance_id,
                status=InstanceStatus.RUNNING,
                only_if_status=[InstanceStatus.WAITING_FOR_TIMER],
                only_if_locked_by=self.worker_id,
                tx=tx,
            )
            if moved:
                await storage.append_history(
                    timer.instance_id,
                    timer.timer_id,
                    wire.TIMER_EXPIRED,
                    wire.timer_expired(timer.timer_id, timer.expires_at),
                    ignore_duplicate=True,
                    tx=tx,
                )
            await storage.delete_timers(timer.instance_id, timer.timer_id, tx=tx)
        if not moved:
            await storage.unlock_instance(timer.instance_id, self.worker_id)
            return False
        await h.call_hook(
            self.app.hooks,
            "on_timer_fired",
            h.TimerFiredInfo(
                timer.instance_id, timer.workflow_name, timer.timer_id, datetime.now(UTC)
            ),
        )
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
