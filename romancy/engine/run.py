"""One execution of one workflow instance on this worker, from lock to release.

The run holds the instance lock (its lease renewed by the engine's heartbeat) and ends in
exactly one of: completed, failed (after compensations), cancelled (after
compensations), suspended (timer or message wait persisted, lock released), or handed
back (shutdown, lost lock, database outage — the instance stays ``running`` and resumes
from its history later, here or elsewhere).
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any

from romancy import hooks as h
from romancy.engine import carried, transitions
from romancy.engine._context import WorkflowContext
from romancy.engine.cancellation import cancelling
from romancy.engine.compensation import run_compensations
from romancy.engine.definitions import Workflow
from romancy.engine.replay import ReplayLog
from romancy.engine.runtime import Outcome, RunHost
from romancy.engine.signals import (
    ChannelMessageSuspend,
    LostOwnership,
    RecurSuspend,
    SuspendSignal,
    TimerSuspend,
)
from romancy.serialization import dumps, from_json, to_json
from romancy.storage import HistoryRecord, Transaction, is_transient
from romancy.wire import history as wire
from romancy.wire.status import ACTIVE_STATUSES, InstanceStatus

log = logging.getLogger("romancy.engine")


class WorkflowRun:
    """Executes (or replays, then continues) one instance while holding its lock."""

    def __init__(
        self,
        host: RunHost,
        instance_id: str,
        workflow: Workflow[Any, Any],
        input_json: Any,
        history: list[HistoryRecord],
        *,
        status: str = InstanceStatus.RUNNING,
        resumed: bool = True,
    ) -> None:
        self.host = host
        self.resumed = resumed  # False for the run that starting the workflow begins
        self.carried: dict[str, str] = {}  # what the hooks carry across runs (carried.py)
        self.ended = False
        self.instance_id = instance_id
        self.workflow = workflow
        self.input_json = input_json
        self.history = history
        self.status = status
        self.cancel_reason: str | None = None
        self.shutting_down = False
        # Set once the run starts giving its lock back (ending, suspending, handing back):
        # from then on a renewal that finds no lock is not a lost lease.
        self.releasing = False
        self.ctx: WorkflowContext | None = None  # of the current pass
        self.started = time.monotonic()

    def request_cancel(self, reason: str) -> None:
        """Ask the running code to stop; the run then compensates and ends cancelled."""
        self.cancel_reason = reason

    async def run(self) -> None:
        """Drive the instance to its next resting state."""
        try:
            ending = self.status in (InstanceStatus.COMPENSATING, InstanceStatus.CANCELLED)
            self.carried = await carried.begin_run(
                self.host, self.instance_id, self.workflow.name, self.history, self.resumed, ending
            )
            if ending:
                await self._finish_compensating()
                return
            while await self._execute_once():
                pass  # recur: go again with the new input and an empty history
        except asyncio.CancelledError:
            if not await self._stopped():
                raise
        except LostOwnership as lost:
            log.warning("instance %s: another worker took it over (%s)", self.instance_id, lost)
        except Exception as error:
            if cancelling():  # a driver turned our cancellation into an error of its own
                if not await self._stopped():
                    raise asyncio.CancelledError from error
            elif is_transient(error):
                log.warning(
                    "instance %s: database unavailable (%s); will retry", self.instance_id, error
                )
                self.host.retry_later(self.instance_id)
            else:
                raise
        finally:
            if not self.ended:
                info = h.WorkflowSuspendInfo(self.instance_id, self.workflow.name, self.status)
                await h.emit(self.host.hooks.on_workflow_suspend, info)

    async def _stopped(self) -> bool:
        """This task was cancelled: ``True`` for a cancel request (the run compensates and
        ends cancelled), ``False`` for a shutdown or a lost lock (the lock is handed back)."""
        task = asyncio.current_task()
        if self.cancel_reason is None or task is None:
            await self._hand_back("shutdown")
            return False
        task.uncancel()
        await self._cancel()
        return True

    # ----------------------------------------------------------------- one pass

    async def _execute_once(self) -> bool:
        """Run the code once; ``True`` means it recurred and must run again."""
        wf, hooks = self.workflow, self.host.hooks
        log_ = ReplayLog(self.history)
        ctx = WorkflowContext(
            runtime=self.host, instance_id=self.instance_id, workflow_name=wf.name, log=log_
        )
        self.ctx = ctx
        replay_started = time.monotonic()
        if log_.total:
            await h.emit(
                hooks.on_replay_start,
                h.ReplayStartInfo(self.instance_id, wf.name, log_.total, ""),
            )
        try:
            input_value = from_json(
                self.input_json, wf.input_hint, what=f"input of workflow {wf.name!r}"
            )
            result = await wf(ctx, input_value)
        except RecurSuspend as signal:
            await self._recur(signal)
            return True
        except SuspendSignal as signal:
            await self._suspend(signal)
            return False
        except (asyncio.CancelledError, LostOwnership):
            raise
        except Exception as error:
            if is_transient(error):
                raise
            await self._fail(error)
            return False
        if log_.total:
            await h.emit(
                hooks.on_replay_complete,
                h.ReplayCompleteInfo(
                    self.instance_id,
                    wf.name,
                    log_.cache_hits,
                    log_.new_activities,
                    timedelta(seconds=time.monotonic() - replay_started),
                ),
            )
        await self._complete(result)
        return False

    # ------------------------------------------------------------------ endings

    async def _complete(self, result: Any) -> None:
        wf = self.workflow
        try:
            encoded = to_json(result, what=f"result of workflow {wf.name!r}")
        except Exception as error:
            await self._fail(error)
            return
        await self._finish(
            InstanceStatus.COMPLETED,
            dumps(encoded),
            self.host.hooks.on_workflow_complete,
            partial(h.WorkflowCompleteInfo, self.instance_id, wf.name, result),
        )

    async def _fail(self, error: Exception) -> None:
        storage = self.host.storage
        trace = "".join(traceback.format_exception(error))
        await transitions.append_row(storage, self.instance_id, wire.workflow_failed(error, trace))
        log.info("workflow %s (%s) failed: %r", self.workflow.name, self.instance_id, error)
        if await storage.history.list_compensations(self.instance_id):
            if not await self._set_status(InstanceStatus.COMPENSATING):
                await self._lost_or_cancelled()
                return
            await run_compensations(self.host, self.instance_id, self.workflow.name)
        await self._finish(
            InstanceStatus.FAILED,
            dumps(wire.failure_fields(error)),
            self.host.hooks.on_workflow_failed,
            partial(h.WorkflowFailedInfo, self.instance_id, self.workflow.name, error),
            from_status=(InstanceStatus.RUNNING, InstanceStatus.COMPENSATING),
        )

    async def _cancel(self) -> None:
        """Cancelled while running here: record why, compensate, end ``cancelled``."""
        reason = self.cancel_reason or ""
        await self.host.mark_cancelled(self.instance_id, reason)
        await self._finish_compensating()

    async def _finish_compensating(self) -> None:
        """Finish an ending that was interrupted (or requested elsewhere) mid-rollback."""
        storage = self.host.storage
        records = {r.activity_id: r for r in await storage.history.load_history(self.instance_id)}
        await run_compensations(self.host, self.instance_id, self.workflow.name)
        cancelled = records.get(wire.WORKFLOW_CANCELLED_ID)
        async with storage.transaction() as tx:
            if cancelled is not None:
                status, output = InstanceStatus.CANCELLED, dumps(wire.event_payload(cancelled))
            else:
                failed = records.get(wire.WORKFLOW_FAILED_ID)
                failure = (
                    wire.failure_of(failed) if failed else ("Error", "interrupted during rollback")
                )
                status = InstanceStatus.FAILED
                output = dumps(wire.failure_fields(failure))
            await self.host.storage.history.delete_timers(self.instance_id, tx=tx)
            done = await self._end(
                tx, status, output, from_status=(*ACTIVE_STATUSES, InstanceStatus.CANCELLED)
            )
        if not done:
            raise LostOwnership("while finishing compensations")
        self._ended(status, output)
        if cancelled is not None:
            reason = wire.cancel_reason(cancelled)
            await h.emit(
                self.host.hooks.on_workflow_cancelled,
                h.WorkflowCancelledInfo(
                    self.instance_id, self.workflow.name, reason, self._elapsed()
                ),
            )

    async def _suspend(self, signal: SuspendSignal) -> None:
        storage, host = self.host.storage, self.host
        try:
            async with storage.transaction() as tx:
                status, waiting_on = await transitions.register_wait(
                    storage, self.instance_id, signal, tx
                )
                self.releasing = True
                if not await storage.instances.update_instance(
                    self.instance_id,
                    status=status,
                    current_activity_id=waiting_on,
                    only_if_status=[InstanceStatus.RUNNING],
                    only_if_locked_by=host.worker_id,
                    release_lock=True,
                    tx=tx,
                ):
                    raise _NotOurs  # undo the registration
        except _NotOurs:
            await self._lost_or_cancelled()
            return
        self.status = status
        if isinstance(signal, TimerSuspend):
            host.timer_registered(signal.expires_at)
        elif isinstance(signal, ChannelMessageSuspend):
            await host.message_wait_registered(self.instance_id, signal)

    async def _recur(self, signal: RecurSuspend) -> None:
        storage = self.host.storage
        async with storage.transaction() as tx:
            await storage.history.archive_history(self.instance_id, tx=tx)
            await storage.history.delete_compensations(self.instance_id, tx=tx)
            await storage.history.delete_timers(self.instance_id, tx=tx)
            # As Go does: the next run subscribes and joins again if it needs to.
            await storage.channels.remove_instance(self.instance_id, tx=tx)
            done = await storage.instances.update_instance(
                self.instance_id,
                input_data=dumps(signal.input_json),
                current_activity_id=None,
                only_if_status=[InstanceStatus.RUNNING],
                only_if_locked_by=self.host.worker_id,
                tx=tx,
            )
            if not done:
                raise LostOwnership("at recur")
            if self.carried:  # the archive took the carried row: the next runs need it
                await carried.keep(storage, self.instance_id, self.carried, tx=tx)
        self.input_json, self.history = signal.input_json, []

    async def _hand_back(self, why: str) -> None:
        """Leave the instance ``running`` and unlocked, for any worker to resume."""
        self.releasing = True
        try:
            await self.host.storage.locks.unlock_instance(self.instance_id, self.host.worker_id)
        except Exception as error:  # its lease expires anyway
            log.warning(
                "instance %s: could not release the lock on %s: %s", self.instance_id, why, error
            )

    # ------------------------------------------------------------------ helpers

    async def _end(
        self,
        tx: Transaction | None,
        status: str,
        output: str,
        from_status: tuple[str, ...] = (InstanceStatus.RUNNING,),
    ) -> bool:
        """Final status and output, lock released; subscriptions and groups removed when
        this run may have made any (one statement otherwise)."""
        storage = self.host.storage
        cleanup = self.ctx is None or self.ctx.uses_channels
        if tx is None and cleanup:
            async with storage.transaction() as own:
                return await self._end(own, status, output, from_status)
        self.releasing = True
        done = await storage.instances.update_instance(
            self.instance_id,
            status=status,
            output_data=output,
            current_activity_id=None,
            only_if_status=list(from_status),
            only_if_locked_by=self.host.worker_id,
            release_lock=True,
            tx=tx,
        )
        if done and cleanup:
            assert tx is not None
            await storage.channels.remove_instance(self.instance_id, tx=tx)
        return done

    async def _set_status(self, status: str) -> bool:
        return await self.host.storage.instances.update_instance(
            self.instance_id,
            status=status,
            only_if_status=[InstanceStatus.RUNNING],
            only_if_locked_by=self.host.worker_id,
        )

    async def _lost_or_cancelled(self) -> None:
        """A conditional update matched nothing: cancelled meanwhile, or no longer ours."""
        instance = await self.host.storage.instances.get_instance(self.instance_id)
        if (
            instance is not None
            and instance.status == InstanceStatus.CANCELLED
            and (instance.locked_by == self.host.worker_id)
        ):
            await self._finish_compensating()
            return
        raise LostOwnership("the instance changed under this run")

    async def _finish(
        self,
        status: InstanceStatus,
        output: str,
        hook: Callable[[h.InfoT], Awaitable[None]],
        info: Callable[[timedelta], h.InfoT],
        from_status: tuple[str, ...] = (InstanceStatus.RUNNING,),
    ) -> None:
        """End the run in ``status``, report it and fire ``hook`` with ``info(elapsed)``;
        when the conditional update matches nothing, find out why."""
        if not await self._end(None, status, output, from_status):
            await self._lost_or_cancelled()
            return
        self._ended(status, output)
        await h.emit(hook, info(self._elapsed()))

    def _ended(self, status: str, output: str) -> None:
        self.ended = True
        self.host.finished(Outcome(self.instance_id, self.workflow.name, status, output))

    def _elapsed(self) -> timedelta:
        return timedelta(seconds=time.monotonic() - self.started)


class _NotOurs(Exception):
    """Raised inside a transaction to undo it: the instance changed under the run."""
