"""Lifecycle hooks for observability, one per event of Go Romancy's ``WorkflowHooks``.

Subclass :class:`WorkflowHooks`, override the methods you need (each is ``async`` and
receives one info object) and pass an instance as ``App(hooks=...)``. Every hook is
called once per event, with the workflow name filled in. An exception raised by a hook is
logged and otherwise ignored: observability never changes what a workflow does.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

log = logging.getLogger("romancy.hooks")


@dataclass(frozen=True)
class WorkflowStartInfo:
    instance_id: str
    workflow_name: str
    input_data: Any
    start_time: datetime


@dataclass(frozen=True)
class WorkflowCompleteInfo:
    instance_id: str
    workflow_name: str
    output_data: Any
    duration: timedelta


@dataclass(frozen=True)
class WorkflowFailedInfo:
    instance_id: str
    workflow_name: str
    error: BaseException
    duration: timedelta


@dataclass(frozen=True)
class WorkflowCancelledInfo:
    instance_id: str
    workflow_name: str
    reason: str
    duration: timedelta


@dataclass(frozen=True)
class WorkflowResumeInfo:
    instance_id: str
    workflow_name: str
    #: What :meth:`WorkflowHooks.carried_context` gave when the instance first ran
    #: (empty when nothing was kept).
    carried: Mapping[str, str]


@dataclass(frozen=True)
class WorkflowSuspendInfo:
    instance_id: str
    workflow_name: str
    #: The status the run left: ``waiting_for_timer``, ``waiting_for_message``, or
    #: ``running`` when it was handed back (shutdown, lost lease, database outage).
    status: str


@dataclass(frozen=True)
class ActivityStartInfo:
    instance_id: str
    workflow_name: str
    activity_id: str
    activity_name: str
    input_data: Any
    is_replay: bool


@dataclass(frozen=True)
class ActivityCompleteInfo:
    instance_id: str
    workflow_name: str
    activity_id: str
    activity_name: str
    output_data: Any
    duration: timedelta
    is_replay: bool


@dataclass(frozen=True)
class ActivityFailedInfo:
    instance_id: str
    workflow_name: str
    activity_id: str
    activity_name: str
    error: BaseException
    duration: timedelta
    attempt: int


@dataclass(frozen=True)
class ActivityRetryInfo:
    instance_id: str
    workflow_name: str
    activity_id: str
    activity_name: str
    attempt: int
    max_attempts: int
    next_delay: timedelta
    error: BaseException


@dataclass(frozen=True)
class ActivityCacheHitInfo:
    instance_id: str
    workflow_name: str
    activity_id: str
    activity_name: str
    cached_result: Any


@dataclass(frozen=True)
class EventReceivedInfo:
    event_type: str
    event_id: str
    event_source: str
    instance_id: str


@dataclass(frozen=True)
class EventWaitStartInfo:
    instance_id: str
    workflow_name: str
    event_type: str
    timeout: timedelta | None


@dataclass(frozen=True)
class EventWaitCompleteInfo:
    instance_id: str
    workflow_name: str
    event_type: str
    duration: timedelta


@dataclass(frozen=True)
class EventTimeoutInfo:
    instance_id: str
    workflow_name: str
    event_type: str


@dataclass(frozen=True)
class TimerStartInfo:
    instance_id: str
    workflow_name: str
    timer_id: str
    expires_at: datetime


@dataclass(frozen=True)
class TimerFiredInfo:
    instance_id: str
    workflow_name: str
    timer_id: str
    fired_at: datetime


@dataclass(frozen=True)
class ReplayStartInfo:
    instance_id: str
    workflow_name: str
    history_events: int
    resume_activity: str


@dataclass(frozen=True)
class ReplayCompleteInfo:
    instance_id: str
    workflow_name: str
    cache_hits: int
    new_activities: int
    duration: timedelta


class WorkflowHooks:
    """No-op hooks; override what you need."""

    async def on_workflow_start(self, info: WorkflowStartInfo) -> None:
        """A workflow instance was started."""

    async def on_workflow_complete(self, info: WorkflowCompleteInfo) -> None:
        """A workflow returned its result."""

    async def on_workflow_failed(self, info: WorkflowFailedInfo) -> None:
        """A workflow ended with an error (after its compensations ran)."""

    async def on_workflow_cancelled(self, info: WorkflowCancelledInfo) -> None:
        """A workflow was cancelled (after its compensations ran)."""

    async def on_workflow_resume(self, info: WorkflowResumeInfo) -> None:
        """A run of an existing instance begins on this worker (after a wait, a crash or a
        shutdown, here or on another worker). Not a Go hook."""

    async def on_workflow_suspend(self, info: WorkflowSuspendInfo) -> None:
        """This worker's run stopped without ending the workflow; a later run resumes it.
        Not a Go hook."""

    def carried_context(self, instance_id: str) -> Mapping[str, str]:
        """Strings to keep with a new instance: every later run of it, on any worker,
        gets them back in :meth:`on_workflow_resume` (``romancy.otel`` keeps the W3C
        trace context here). Asked once, when the instance first runs; empty keeps
        nothing."""
        return {}

    async def on_activity_start(self, info: ActivityStartInfo) -> None:
        """An activity call began (fresh or replayed)."""

    async def on_activity_complete(self, info: ActivityCompleteInfo) -> None:
        """An activity ran and its result was recorded."""

    async def on_activity_failed(self, info: ActivityFailedInfo) -> None:
        """An activity failed for good (terminal error or retries exhausted)."""

    async def on_activity_retry(self, info: ActivityRetryInfo) -> None:
        """An activity attempt failed and another will follow after ``next_delay``."""

    async def on_activity_cache_hit(self, info: ActivityCacheHitInfo) -> None:
        """A replayed activity returned its recorded result without running."""

    async def on_event_received(self, info: EventReceivedInfo) -> None:
        """A CloudEvent arrived over HTTP."""

    async def on_event_wait_start(self, info: EventWaitStartInfo) -> None:
        """A workflow began waiting for an event."""

    async def on_event_wait_complete(self, info: EventWaitCompleteInfo) -> None:
        """A workflow received the event it waited for."""

    async def on_event_timeout(self, info: EventTimeoutInfo) -> None:
        """A wait for an event or channel message timed out."""

    async def on_timer_start(self, info: TimerStartInfo) -> None:
        """A workflow went to sleep until ``expires_at``."""

    async def on_timer_fired(self, info: TimerFiredInfo) -> None:
        """A workflow's timer expired and the workflow is resuming."""

    async def on_replay_start(self, info: ReplayStartInfo) -> None:
        """A resumed workflow starts replaying its history."""

    async def on_replay_complete(self, info: ReplayCompleteInfo) -> None:
        """A replayed workflow reached the end of its recorded history."""


InfoT = TypeVar("InfoT")


async def emit(hook: Callable[[InfoT], Awaitable[None]], info: InfoT) -> None:
    """Call one hook (a bound ``on_…`` method) with its info, logging (never raising)
    what it raises. Passing the method, not its name, lets the type checker match the
    info to the hook."""
    try:
        await hook(info)
    except Exception:
        log.exception("hook %s raised; ignored", getattr(hook, "__name__", hook))
