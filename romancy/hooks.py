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
class WorkflowInfo:
    """The workflow instance a hook is about (every info but ``EventReceivedInfo``)."""

    instance_id: str
    workflow_name: str


@dataclass(frozen=True)
class WorkflowStartInfo(WorkflowInfo):
    """For :meth:`WorkflowHooks.on_workflow_start`."""

    input_data: Any
    start_time: datetime


@dataclass(frozen=True)
class WorkflowCompleteInfo(WorkflowInfo):
    """For :meth:`WorkflowHooks.on_workflow_complete`; ``duration`` is that of the run
    that ended it."""

    output_data: Any
    duration: timedelta


@dataclass(frozen=True)
class WorkflowFailedInfo(WorkflowInfo):
    """For :meth:`WorkflowHooks.on_workflow_failed`."""

    error: BaseException
    duration: timedelta


@dataclass(frozen=True)
class WorkflowCancelledInfo(WorkflowInfo):
    """For :meth:`WorkflowHooks.on_workflow_cancelled`; ``reason`` as the canceller gave it."""

    reason: str
    duration: timedelta


@dataclass(frozen=True)
class WorkflowResumeInfo(WorkflowInfo):
    """For :meth:`WorkflowHooks.on_workflow_resume`."""

    #: What :meth:`WorkflowHooks.carried_context` gave when the instance first ran
    #: (empty when nothing was kept).
    carried: Mapping[str, str]


@dataclass(frozen=True)
class WorkflowSuspendInfo(WorkflowInfo):
    """For :meth:`WorkflowHooks.on_workflow_suspend`."""

    #: The status the run left: ``waiting_for_timer``, ``waiting_for_message``, or
    #: ``running`` when it was handed back (shutdown, lost lease, database outage).
    status: str


@dataclass(frozen=True)
class ActivityInfo(WorkflowInfo):
    """The activity step an activity hook is about."""

    #: The step's id in the history (``name:1``, or the explicit id).
    activity_id: str
    activity_name: str


@dataclass(frozen=True)
class ActivityStartInfo(ActivityInfo):
    """For :meth:`WorkflowHooks.on_activity_start`."""

    input_data: Any
    is_replay: bool


@dataclass(frozen=True)
class ActivityCompleteInfo(ActivityInfo):
    """For :meth:`WorkflowHooks.on_activity_complete`; ``duration`` includes retries."""

    output_data: Any
    duration: timedelta
    is_replay: bool


@dataclass(frozen=True)
class ActivityFailedInfo(ActivityInfo):
    """For :meth:`WorkflowHooks.on_activity_failed`; ``attempt`` is the last one made."""

    error: BaseException
    duration: timedelta
    attempt: int


@dataclass(frozen=True)
class ActivityRetryInfo(ActivityInfo):
    """For :meth:`WorkflowHooks.on_activity_retry`: attempt ``attempt`` of ``max_attempts``
    failed with ``error``."""

    attempt: int
    max_attempts: int
    next_delay: timedelta
    error: BaseException


@dataclass(frozen=True)
class ActivityCacheHitInfo(ActivityInfo):
    """For :meth:`WorkflowHooks.on_activity_cache_hit`."""

    cached_result: Any


@dataclass(frozen=True)
class EventReceivedInfo:
    """For :meth:`WorkflowHooks.on_event_received` (an event is not yet any workflow's)."""

    event_type: str
    event_id: str
    event_source: str
    #: The instance the event targets; empty when it targets none.
    instance_id: str


@dataclass(frozen=True)
class EventInfo(WorkflowInfo):
    """The wait an event hook is about."""

    #: The event type, or the channel for a channel receive that timed out.
    event_type: str


@dataclass(frozen=True)
class EventWaitStartInfo(EventInfo):
    """For :meth:`WorkflowHooks.on_event_wait_start`; ``timeout`` ``None`` waits forever."""

    timeout: timedelta | None


@dataclass(frozen=True)
class EventWaitCompleteInfo(EventInfo):
    """For :meth:`WorkflowHooks.on_event_wait_complete`."""

    duration: timedelta


@dataclass(frozen=True)
class EventTimeoutInfo(EventInfo):
    """For :meth:`WorkflowHooks.on_event_timeout`."""


@dataclass(frozen=True)
class TimerInfo(WorkflowInfo):
    """The timer a timer hook is about."""

    #: The timer's step id in the history (``sleep:1``, or the explicit id).
    timer_id: str


@dataclass(frozen=True)
class TimerStartInfo(TimerInfo):
    """For :meth:`WorkflowHooks.on_timer_start`."""

    expires_at: datetime


@dataclass(frozen=True)
class TimerFiredInfo(TimerInfo):
    """For :meth:`WorkflowHooks.on_timer_fired`."""

    fired_at: datetime


@dataclass(frozen=True)
class ReplayStartInfo(WorkflowInfo):
    """For :meth:`WorkflowHooks.on_replay_start`: how many history rows the run found
    (``resume_activity`` stays empty: the next step is known only when the code reaches it)."""

    history_events: int
    resume_activity: str


@dataclass(frozen=True)
class ReplayCompleteInfo(WorkflowInfo):
    """For :meth:`WorkflowHooks.on_replay_complete`."""

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
        """An activity call began: before its first attempt, or on replay (``is_replay``),
        where :meth:`on_activity_cache_hit` follows unless the recorded outcome is an error."""

    async def on_activity_complete(self, info: ActivityCompleteInfo) -> None:
        """An activity ran and its result was recorded."""

    async def on_activity_failed(self, info: ActivityFailedInfo) -> None:
        """An activity failed for good (terminal error or retries exhausted)."""

    async def on_activity_retry(self, info: ActivityRetryInfo) -> None:
        """An activity attempt failed and another will follow after ``next_delay``."""

    async def on_activity_cache_hit(self, info: ActivityCacheHitInfo) -> None:
        """A replayed activity returned its recorded result without running."""

    async def on_event_received(self, info: EventReceivedInfo) -> None:
        """A CloudEvent arrived (over HTTP or ``ingest_cloudevent``), before it is published;
        ``instance_id`` is the instance it targets, empty when it targets none."""

    async def on_event_wait_start(self, info: EventWaitStartInfo) -> None:
        """A workflow began waiting for an event."""

    async def on_event_wait_complete(self, info: EventWaitCompleteInfo) -> None:
        """A workflow received the event it waited for."""

    async def on_event_timeout(self, info: EventTimeoutInfo) -> None:
        """A wait for an event or channel message timed out (``event_type`` is the channel).
        Called by the leader worker that expires the wait, not necessarily the one that
        runs the workflow."""

    async def on_timer_start(self, info: TimerStartInfo) -> None:
        """A workflow went to sleep until ``expires_at`` (rounded up to a whole second:
        stored deadlines keep whole seconds)."""

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
