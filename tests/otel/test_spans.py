"""The spans of workflows run with ``OTelHooks``: Go Romancy's names and attributes, one
trace per workflow across its runs."""

from __future__ import annotations

import uuid

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

import romancy
from romancy import App
from tests.integration.engine.helpers import eventually, wait_for_status

from .telemetry import Telemetry, parent_id, span_id, trace_id
from .workflows import otel_failing, otel_sleeper, otel_waiter


async def test_retry_timer_and_completion_form_one_tree(app: App, telemetry: Telemetry) -> None:
    key = f"tree-{uuid.uuid4()}"
    tracer = telemetry.tracer_provider.get_tracer("tests")
    with tracer.start_as_current_span("request") as request:
        instance_id = await app.start_workflow(otel_sleeper, key)
    assert await app.wait_for_result(instance_id, timeout=30) == f"done {key}"

    first_run, resumed = [
        s for s in telemetry.spans(instance_id) if s.name == "workflow/otel_sleeper"
    ]
    # Started inside the request span: the workflow span is its child, in its trace.
    assert parent_id(first_run) == request.get_span_context().span_id
    assert {trace_id(s) for s in telemetry.spans(instance_id)} == {
        request.get_span_context().trace_id
    }
    assert first_run.attributes is not None
    assert first_run.attributes["romancy.workflow_name"] == "otel_sleeper"
    assert first_run.attributes["romancy.suspended_as"] == "waiting_for_timer"
    assert "romancy.start_time" in first_run.attributes

    activity = telemetry.span(instance_id, "activity/otel_flaky")
    assert parent_id(activity) == span_id(first_run)
    assert activity.status.status_code == StatusCode.OK
    assert activity.attributes is not None
    assert activity.attributes["romancy.attempt"] == 2
    assert activity.attributes["romancy.is_replay"] is False
    assert activity.attributes["romancy.activity_id"] == "otel_flaky:1"
    (retry,) = activity.events
    assert retry.name == "activity_retry"
    assert retry.attributes is not None
    assert retry.attributes["romancy.attempt"] == 1
    assert retry.attributes["romancy.max_attempts"] == 3
    assert 0 < retry.attributes["romancy.next_delay_ms"] <= 20  # 10 ms, with jitter
    assert retry.attributes["romancy.error"] == f"ValueError: first attempt of {key} fails"

    timer = telemetry.span(instance_id, "timer/sleep:1")
    assert parent_id(timer) == span_id(first_run)
    assert timer.status.status_code == StatusCode.OK
    assert timer.attributes is not None and "romancy.fired_at" in timer.attributes

    # The run after the timer continues the first run's span, and completes the workflow.
    assert parent_id(resumed) == span_id(first_run)
    assert resumed.attributes is not None and resumed.attributes["romancy.resumed"] is True
    assert resumed.status.status_code == StatusCode.OK
    assert resumed.attributes["romancy.duration_ms"] >= 0
    replay = telemetry.span(instance_id, "replay/otel_sleeper")
    assert parent_id(replay) == span_id(resumed)
    hit = telemetry.span(instance_id, "activity_cache_hit/otel_flaky")
    assert parent_id(hit) == span_id(resumed)


async def test_a_replayed_step_is_a_cache_hit(app: App, telemetry: Telemetry) -> None:
    event_type = f"otel.approved.{uuid.uuid4()}"
    instance_id = await app.start_workflow(otel_waiter, event_type)
    await wait_for_status(app, instance_id, "waiting_for_message")
    event = romancy.CloudEvent(id="e-1", type=event_type, source="tests", data={})
    await romancy.ingest_cloudevent(app, event)
    assert await app.wait_for_result(instance_id, timeout=30) == f"done {event_type}"

    names = [s.name for s in telemetry.spans(instance_id)]
    assert names.count("activity/otel_flaky") == 1  # executed once, in the first run
    hit = telemetry.span(instance_id, "activity_cache_hit/otel_flaky")
    assert hit.attributes is not None
    assert hit.attributes["romancy.is_replay"] is True
    assert hit.attributes["romancy.activity_id"] == "otel_flaky:1"
    assert hit.status.status_code == StatusCode.OK
    first_run, resumed = [s for s in telemetry.spans(instance_id) if s.name.startswith("workf")]
    assert parent_id(hit) == span_id(resumed)
    wait = telemetry.span(instance_id, f"event_wait/{event_type}")
    assert parent_id(wait) == span_id(first_run)
    assert wait.status.status_code == StatusCode.OK
    assert first_run.attributes is not None
    assert first_run.attributes["romancy.suspended_as"] == "waiting_for_message"


async def test_failure_is_an_error_with_its_exception(app: App, telemetry: Telemetry) -> None:
    instance_id = await app.start_workflow(otel_failing)
    with pytest.raises(romancy.WorkflowFailedError):
        await app.wait_for_result(instance_id, timeout=30)

    activity = telemetry.span(instance_id, "activity/otel_broken")
    assert activity.status.status_code == StatusCode.ERROR
    assert activity.status.description == "RuntimeError: broken for good"
    (exception,) = activity.events
    assert exception.name == "exception"
    assert exception.attributes is not None
    assert exception.attributes["exception.type"] == "RuntimeError"

    workflow = telemetry.span(instance_id, "workflow/otel_failing")
    assert workflow.status.status_code == StatusCode.ERROR
    assert [e.name for e in workflow.events] == ["exception"]
    assert parent_id(activity) == span_id(workflow)


async def test_cancel_is_an_error_with_its_reason(app: App, telemetry: Telemetry) -> None:
    event_type = f"otel.never.{uuid.uuid4()}"
    instance_id = await app.start_workflow(otel_waiter, event_type)
    await wait_for_status(app, instance_id, "waiting_for_message")
    await app.cancel_workflow(instance_id, "enough")
    with pytest.raises(romancy.WorkflowCancelledError):
        await app.wait_for_result(instance_id, timeout=30)

    def workflow_spans() -> list[ReadableSpan]:
        return [s for s in telemetry.spans(instance_id) if s.name.startswith("workflow/")]

    # A cancel that meets the first run still suspending is finished by the leader's
    # recovery moments later: either way a second run ends the workflow.
    await eventually(lambda: len(workflow_spans()) == 2, what="the cancelled run's span")
    first_run, cancelled = workflow_spans()
    assert cancelled.status.status_code == StatusCode.ERROR
    assert cancelled.status.description == "workflow canceled: enough"
    assert cancelled.attributes is not None
    assert cancelled.attributes["romancy.cancel_reason"] == "enough"
    assert parent_id(cancelled) == span_id(first_run)
    # The wait the cancel cut short is ended with the workflow, not left open.
    wait = telemetry.span(instance_id, f"event_wait/{event_type}")
    assert wait.status.status_code == StatusCode.UNSET
