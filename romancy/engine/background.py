"""The worker's background loops.

On every worker: lease renewal of local runs; the resumption loop, which picks up
``running`` instances nobody holds of the workflows this worker defines, with adaptive
backoff and jitter; finishing their interrupted endings. On the leader only (elected
through our own system lock): firing due timers and ending receive timeouts of every
service's workflows (docs/engine.md, "Workers"), recovering expired locks, the recur
check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from romancy import hooks as h
from romancy.durations import jittered
from romancy.engine.cancellation import sleep_or_wake
from romancy.engine.delivery import announce_resumable, deliver_next, time_out
from romancy.storage import TimerRecord, WaitingSubscriber
from romancy.tasks import cancel_and_wait
from romancy.wire import frameworks
from romancy.wire import messages as wire
from romancy.wire.status import InstanceStatus

if TYPE_CHECKING:
    from romancy.engine.engine import Engine

log = logging.getLogger("romancy.background")

#: Longest pause of the resumption loop when it keeps finding nothing.
MAX_IDLE_BACKOFF = 60.0


class BackgroundLoops:
    """Starts and stops every background task of one App."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.config = engine.config
        self.is_leader = False
        self._tasks: list[asyncio.Task[None]] = []
        self._leader_tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        config = self.config
        self._tasks = [
            _spawn("lease renewal", _every(config.lock_renewal_interval, self.engine.renew_leases)),
            _spawn("resumption", self._resumption_loop()),
            _spawn(
                "interrupted endings",
                _every(config.stale_lock_interval, self._finish_interrupted_endings),
            ),
            _spawn("leader election", self._leader_election()),
        ]

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks, *self._leader_tasks)
        self._tasks, self._leader_tasks = [], []
        self.is_leader = False
        # Released whether or not this worker knew it led: the election may have been
        # cancelled after the database granted the lease but before it was noted here.
        # The release only touches a lease this worker holds.
        with contextlib.suppress(Exception):
            await self.engine.storage.locks.release_system_lock(
                self.config.leader_lock_name, self.engine.worker_id
            )

    # ------------------------------------------------------------------ all workers

    async def _resumption_loop(self) -> None:
        engine, config = self.engine, self.config
        idle = 0
        while True:
            started = 0
            try:
                found = await engine.storage.instances.find_resumable(
                    config.framework, tuple(engine.workflows), limit=config.max_workflows_per_batch
                )
                for instance_id, name in found:
                    if name in engine.workflows and instance_id not in engine.running:
                        started += await engine.resume(instance_id, limited=True)
            except Exception as error:
                log.warning("resumption loop: %s", error)
            if started:
                idle = 0
                continue
            idle += 1
            delay = min(
                config.workflow_resumption_interval * 2 ** min(idle - 1, 5), MAX_IDLE_BACKOFF
            )
            await sleep_or_wake(jittered(delay, 1.0, 1.3), engine.resume_wakeup)

    async def _leader_election(self) -> None:
        engine, config = self.engine, self.config
        while True:
            try:
                leading = await engine.storage.locks.try_system_lock(
                    config.leader_lock_name, engine.worker_id, config.leader_lease_duration
                )
            except Exception as error:
                log.warning("leader election: %s", error)
                leading = False
            if leading and not self.is_leader:
                log.info("worker %s is now the leader", engine.worker_id)
                self._leader_tasks = [
                    _spawn("timer check", self._timer_loop()),
                    _spawn("message check", self._message_loop()),
                    _spawn(
                        "channel cleanup",
                        _every(config.channel_cleanup_interval, self._cleanup_messages),
                    ),
                    _spawn("stale locks", _every(config.stale_lock_interval, self._recover_locks)),
                    _spawn("recur check", _every(config.recur_check_interval, self._recur_check)),
                ]
            elif not leading and self.is_leader:
                log.info("worker %s lost the leadership", engine.worker_id)
                for task in self._leader_tasks:
                    task.cancel()
                self._leader_tasks = []
            self.is_leader = leading
            await asyncio.sleep(config.leader_heartbeat_interval)

    # ----------------------------------------------------------------- leader only

    async def _timer_loop(self) -> None:
        engine, config = self.engine, self.config
        slots = asyncio.Semaphore(config.max_concurrent_timers)

        async def fire(timer: TimerRecord) -> None:
            async with slots:
                try:
                    await engine.fire_timer(timer)
                except Exception as error:
                    log.warning("timer %s of %s: %s", timer.timer_id, timer.instance_id, error)

        while True:
            engine.timers.wakeup.clear()
            checked_at = datetime.now(UTC)
            try:
                due = await engine.storage.history.find_due_timers(
                    config.framework, limit=config.max_timers_per_batch
                )
                await asyncio.gather(*(fire(t) for t in due))
            except Exception as error:
                log.warning("timer check: %s", error)
                due = []
            if len(due) >= config.max_timers_per_batch:
                continue  # more are due
            await sleep_or_wake(
                engine.timers.next_check(checked_at, config.timer_check_interval),
                engine.timers.wakeup,
            )

    async def _message_loop(self) -> None:
        """Receive timeouts, and messages whose publisher's wake-up was missed."""
        engine, config = self.engine, self.config
        slots = asyncio.Semaphore(config.max_concurrent_messages)
        storage, framework = engine.storage, config.framework

        async def handle(
            waiting: WaitingSubscriber, action: Callable[..., Awaitable[bool]]
        ) -> None:
            async with slots:
                try:
                    if await action(storage, engine.worker_id, waiting):
                        await engine.delivered(waiting)
                except Exception as error:
                    log.warning("channel wait of %s: %s", waiting.instance_id, error)

        while True:
            engine.message_deadlines.wakeup.clear()
            checked_at = datetime.now(UTC)
            try:
                expired = await storage.channels.expired_waits(
                    framework, limit=config.max_messages_per_batch
                )
                await asyncio.gather(*(handle(w, time_out) for w in expired))
                for waiting in expired:
                    await h.emit(
                        engine.hooks.on_event_timeout,
                        h.EventTimeoutInfo(
                            waiting.instance_id, waiting.workflow_name, waiting.channel
                        ),
                    )
                # Edda's waiting instances too: Edda never looks again for a message
                # whose wake-up it missed (docs/channels.md); we deliver in its layout.
                missed = await storage.channels.missed_deliveries(
                    (framework, frameworks.EDDA),
                    limit=config.max_messages_per_batch,
                    no_binary_for=wire.NO_BINARY_READERS,
                )
                await asyncio.gather(*(handle(w, deliver_next) for w in missed))
            except Exception as error:
                log.warning("message check: %s", error)
            await sleep_or_wake(
                engine.message_deadlines.next_check(checked_at, config.message_check),
                engine.message_deadlines.wakeup,
            )

    async def _cleanup_messages(self) -> None:
        removed = await self.engine.storage.channels.delete_older_than(
            self.config.channel_message_retention
        )
        if removed:
            log.info("deleted %d channel messages past retention", removed)

    async def _recover_locks(self) -> None:
        engine = self.engine
        released = await engine.storage.locks.release_expired_locks(engine.config.framework)
        for instance_id, name, status in released:
            log.warning("released the expired lock of instance %s (%s)", instance_id, status)
            if status == InstanceStatus.RUNNING:
                await announce_resumable(engine.storage, instance_id, name)
        if released:
            engine.resume_wakeup.set()

    async def _finish_interrupted_endings(self) -> None:
        # Every worker, for the workflows it defines: it alone can run their compensations.
        engine = self.engine
        for instance_id in await engine.storage.instances.find_interrupted_endings(
            engine.config.framework, tuple(engine.workflows)
        ):
            await engine.resume(instance_id, limited=True)

    async def _recur_check(self) -> None:
        if await self.engine.storage.instances.restart_recurred(self.config.framework):
            self.engine.resume_wakeup.set()


def _spawn(name: str, coroutine: Awaitable[None]) -> asyncio.Task[None]:
    return asyncio.create_task(coroutine, name=f"romancy:{name}")  # type: ignore[arg-type]


async def _every(interval: float, action: Callable[[], Awaitable[object]]) -> None:
    """Run ``action`` every ``interval`` s (±25 % jitter), surviving its errors."""
    while True:
        await asyncio.sleep(jittered(interval, 0.75, 1.25))
        try:
            await action()
        except Exception as error:
            log.warning("%s: %s", getattr(action, "__name__", "background task"), error)
