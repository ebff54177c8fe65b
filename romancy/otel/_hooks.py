"""``OTelHooks``: romancy's lifecycle hooks as OpenTelemetry spans and metrics."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.metrics import Counter, MeterProvider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from romancy import durations
from romancy import hooks as h
from romancy.errors import describe
from romancy.otel._flows import (
    ACTIVITY_ID,
    ACTIVITY_NAME,
    ATTEMPT,
    DURATION_MS,
    INSTANCE_ID,
    IS_REPLAY,
    WORKFLOW_NAME,
    Activity,
    Flow,
    Flows,
)
from romancy.otel._metrics import SCOPE, Instruments

_OK = Status(StatusCode.OK)


def _ms(duration: timedelta | float) -> float:
    return round(durations.seconds(duration) * 1000, 3)


def _end(item: Activity, status: Status | None = None, **attributes: Any) -> None:
    """End a child span, with its duration and ``attributes``."""
    item.span.set_attributes({DURATION_MS: _ms(time.monotonic() - item.started), **attributes})
    if status is not None:
        item.span.set_status(status)
    item.span.end()


class OTelHooks(h.WorkflowHooks):
    """Spans (Go Romancy's names and attributes) and ``romancy.*`` metrics for every
    workflow this App runs, with the trace carried across suspensions, crashes and
    workers in the instance's history (docs/otel.md).

    ``tracer_provider`` / ``meter_provider`` default to the global ones.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self._tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider)
        self._metrics = Instruments.create(metrics.get_meter(SCOPE, meter_provider=meter_provider))
        self._flows = Flows()
        self._propagator = TraceContextTextMapPropagator()

    # -------------------------------------------------------------- workflow runs

    async def on_workflow_start(self, info: h.WorkflowStartInfo) -> None:
        # Called in the starter's context: an active span there becomes the parent.
        flow = self._flows[info.instance_id] = Flow(info.workflow_name)
        self._open_run(info.instance_id, flow, None, {"romancy.start_time": str(info.start_time)})
        self._metrics.workflows_started.add(1, {WORKFLOW_NAME: info.workflow_name})

    def carried_context(self, instance_id: str) -> Mapping[str, str]:
        """The W3C trace context of the instance's first workflow span."""
        flow = self._flows.get(instance_id)
        carrier: dict[str, str] = {}
        if flow is not None and flow.segment is not None:
            self._propagator.inject(carrier, trace.set_span_in_context(flow.segment))
        return carrier

    async def on_workflow_resume(self, info: h.WorkflowResumeInfo) -> None:
        flow = self._flows.flow(info.instance_id, info.workflow_name)
        if flow.segment is not None:  # an earlier run here never reported stopping
            self._close_run(flow)
        # The span the workflow began with, wherever it ran; a new trace when none is kept.
        origin = self._propagator.extract(info.carried) if info.carried else Context()
        self._open_run(info.instance_id, flow, origin, {"romancy.resumed": True})

    async def on_workflow_suspend(self, info: h.WorkflowSuspendInfo) -> None:
        flow = self._flows.get(info.instance_id)
        if flow is None:
            return
        if flow.segment is not None:
            flow.segment.set_attribute("romancy.suspended_as", info.status)
        self._close_run(flow)
        for wait in self._flows.idle(info.instance_id):
            wait.span.end()

    async def on_workflow_complete(self, info: h.WorkflowCompleteInfo) -> None:
        span = self._ending(info.instance_id, info.workflow_name)
        span.set_status(_OK)
        self._end_workflow(info.instance_id, info.duration, self._metrics.workflows_completed)

    async def on_workflow_failed(self, info: h.WorkflowFailedInfo) -> None:
        span = self._ending(info.instance_id, info.workflow_name)
        span.record_exception(info.error)
        span.set_status(Status(StatusCode.ERROR, describe(info.error)))
        self._end_workflow(info.instance_id, info.duration, self._metrics.workflows_failed)

    async def on_workflow_cancelled(self, info: h.WorkflowCancelledInfo) -> None:
        span = self._ending(info.instance_id, info.workflow_name)
        span.set_attribute("romancy.cancel_reason", info.reason)
        span.set_status(Status(StatusCode.ERROR, f"workflow canceled: {info.reason}"))
        self._end_workflow(info.instance_id, info.duration, self._metrics.workflows_cancelled)

    def _open_run(
        self, instance_id: str, flow: Flow, parent: Context | None, attributes: dict[str, Any]
    ) -> None:
        flow.segment = self._tracer.start_span(
            f"workflow/{flow.workflow_name}",
            context=parent,
            attributes={
                INSTANCE_ID: instance_id,
                WORKFLOW_NAME: flow.workflow_name,
                **attributes,
            },
        )
        flow.segment_started = time.monotonic()
        self._metrics.runs_in_flight.add(1, {WORKFLOW_NAME: flow.workflow_name})

    def _close_run(self, flow: Flow) -> None:
        """End the run's workflow span and what only lives as long as the run."""
        for activity in flow.activities.values():  # cut by a shutdown or a lost lease
            _end(activity)
        if flow.replay is not None:  # a replay that did not reach the workflow's end
            _end(flow.replay)
        flow.activities, flow.replay = {}, None
        if flow.segment is not None:
            flow.segment.set_attribute(DURATION_MS, _ms(time.monotonic() - flow.segment_started))
            flow.segment.end()
            flow.segment = None
            self._metrics.runs_in_flight.add(-1, {WORKFLOW_NAME: flow.workflow_name})

    def _ending(self, instance_id: str, workflow_name: str) -> Span:
        """The workflow span an ending is reported on (opened now if this worker has none)."""
        flow = self._flows.flow(instance_id, workflow_name)
        if flow.segment is None:
            self._open_run(instance_id, flow, Context(), {})
        assert flow.segment is not None
        return flow.segment

    def _end_workflow(self, instance_id: str, duration: timedelta, counter: Counter) -> None:
        flow = self._flows.pop(instance_id)
        self._close_run(flow)
        for wait in flow.waits.values():
            wait.span.end()
        name = {WORKFLOW_NAME: flow.workflow_name}
        counter.add(1, name)
        self._metrics.workflow_duration.record(duration.total_seconds(), name)

    def _child(self, flow: Flow, name: str, attributes: dict[str, Any]) -> Activity:
        parent = trace.set_span_in_context(flow.segment) if flow.segment is not None else None
        return Activity(self._tracer.start_span(name, context=parent, attributes=attributes))

    # ----------------------------------------------------------------- activities

    async def on_activity_start(self, info: h.ActivityStartInfo) -> None:
        if info.is_replay:
            return  # a replayed step reports a cache hit instead
        flow = self._flows.flow(info.instance_id, info.workflow_name)
        flow.activities[info.activity_id] = self._child(
            flow,
            f"activity/{info.activity_name}",
            {**_ids(info), IS_REPLAY: False, ATTEMPT: 1},
        )
        self._metrics.activity_attempts.add(1, _names(info))

    async def on_activity_retry(self, info: h.ActivityRetryInfo) -> None:
        self._metrics.activity_retries.add(1, _names(info))
        self._metrics.activity_attempts.add(1, _names(info))
        activity = self._activity(info.instance_id, info.activity_id, pop=False)
        if activity is None:
            return
        activity.span.add_event(
            "activity_retry",
            {
                ATTEMPT: info.attempt,
                "romancy.max_attempts": info.max_attempts,
                "romancy.next_delay_ms": _ms(info.next_delay),
                "romancy.error": describe(info.error),
            },
        )
        activity.span.set_attribute(ATTEMPT, info.attempt + 1)

    async def on_activity_complete(self, info: h.ActivityCompleteInfo) -> None:
        self._metrics.activity_duration.record(info.duration.total_seconds(), _names(info))
        activity = self._activity(info.instance_id, info.activity_id)
        if activity is not None:
            _end(activity, _OK, **{IS_REPLAY: info.is_replay})

    async def on_activity_failed(self, info: h.ActivityFailedInfo) -> None:
        self._metrics.activity_duration.record(info.duration.total_seconds(), _names(info))
        activity = self._activity(info.instance_id, info.activity_id)
        if activity is not None:
            activity.span.record_exception(info.error)
            error = Status(StatusCode.ERROR, describe(info.error))
            _end(activity, error, **{ATTEMPT: info.attempt})

    async def on_activity_cache_hit(self, info: h.ActivityCacheHitInfo) -> None:
        flow = self._flows.flow(info.instance_id, info.workflow_name)
        hit = self._child(
            flow, f"activity_cache_hit/{info.activity_name}", {**_ids(info), IS_REPLAY: True}
        )
        hit.span.set_status(_OK)
        hit.span.end()

    def _activity(self, instance_id: str, activity_id: str, pop: bool = True) -> Activity | None:
        flow = self._flows.get(instance_id)
        if flow is None:
            return None
        return flow.activities.pop(activity_id, None) if pop else flow.activities.get(activity_id)

    # ----------------------------------------------------------- waits and replay

    async def on_event_received(self, info: h.EventReceivedInfo) -> None:
        span = self._tracer.start_span(
            f"event_received/{info.event_type}",
            kind=SpanKind.CONSUMER,
            attributes={
                "romancy.event_type": info.event_type,
                "romancy.event_id": info.event_id,
                "romancy.event_source": info.event_source,
                INSTANCE_ID: info.instance_id,
            },
        )
        span.set_status(_OK)
        span.end()

    async def on_event_wait_start(self, info: h.EventWaitStartInfo) -> None:
        attributes: dict[str, Any] = {
            INSTANCE_ID: info.instance_id,
            WORKFLOW_NAME: info.workflow_name,
            "romancy.event_type": info.event_type,
        }
        if info.timeout is not None:
            attributes["romancy.timeout_ms"] = _ms(info.timeout)
        flow = self._flows.flow(info.instance_id, info.workflow_name)
        flow.waits[f"event:{info.event_type}"] = self._child(
            flow, f"event_wait/{info.event_type}", attributes
        )

    async def on_event_wait_complete(self, info: h.EventWaitCompleteInfo) -> None:
        wait = self._wait(info.instance_id, f"event:{info.event_type}")
        if wait is not None:
            _end(wait, _OK)

    async def on_event_timeout(self, info: h.EventTimeoutInfo) -> None:
        wait = self._wait(info.instance_id, f"event:{info.event_type}")
        if wait is not None:
            _end(wait, Status(StatusCode.ERROR, "event timeout"))

    async def on_timer_start(self, info: h.TimerStartInfo) -> None:
        flow = self._flows.flow(info.instance_id, info.workflow_name)
        flow.waits[f"timer:{info.timer_id}"] = self._child(
            flow,
            f"timer/{info.timer_id}",
            {
                INSTANCE_ID: info.instance_id,
                WORKFLOW_NAME: info.workflow_name,
                "romancy.timer_id": info.timer_id,
                "romancy.expires_at": str(info.expires_at),
            },
        )

    async def on_timer_fired(self, info: h.TimerFiredInfo) -> None:
        wait = self._wait(info.instance_id, f"timer:{info.timer_id}")
        if wait is not None:
            _end(wait, _OK, **{"romancy.fired_at": str(info.fired_at)})

    def _wait(self, instance_id: str, key: str) -> Activity | None:
        flow = self._flows.get(instance_id)
        return flow.waits.pop(key, None) if flow is not None else None

    async def on_replay_start(self, info: h.ReplayStartInfo) -> None:
        flow = self._flows.flow(info.instance_id, info.workflow_name)
        flow.replay = self._child(
            flow,
            f"replay/{info.workflow_name}",
            {
                INSTANCE_ID: info.instance_id,
                WORKFLOW_NAME: info.workflow_name,
                "romancy.history_events": info.history_events,
                "romancy.resume_activity": info.resume_activity,
            },
        )

    async def on_replay_complete(self, info: h.ReplayCompleteInfo) -> None:
        flow = self._flows.get(info.instance_id)
        if flow is None or flow.replay is None:
            return
        replay, flow.replay = flow.replay, None
        _end(
            replay,
            _OK,
            **{
                "romancy.cache_hits": info.cache_hits,
                "romancy.new_activities": info.new_activities,
            },
        )


def _ids(info: h.ActivityStartInfo | h.ActivityCacheHitInfo) -> dict[str, Any]:
    return {
        INSTANCE_ID: info.instance_id,
        WORKFLOW_NAME: info.workflow_name,
        ACTIVITY_ID: info.activity_id,
        ACTIVITY_NAME: info.activity_name,
    }


def _names(info: Any) -> dict[str, str]:
    """Metric attributes: names only (ids would make every series unique)."""
    return {WORKFLOW_NAME: info.workflow_name, ACTIVITY_NAME: info.activity_name}
