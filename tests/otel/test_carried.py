"""The trace context kept in the instance's history: a row every runtime and
``romancy schema validate`` accept, that survives a recur and no step can take over."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

import romancy
from romancy import App
from romancy.validation import violations
from romancy.validation.database import check_database
from romancy.wire import history as wire
from tests.integration.engine.helpers import wait_for_status
from tests.support.workers import REPO

from .telemetry import Telemetry, parent_id, span_id, trace_id
from .workflows import otel_looper, otel_quick, otel_squatter


async def test_the_kept_context_is_a_valid_shared_row(app: App, telemetry: Telemetry) -> None:
    instance_id = await app.start_workflow(otel_quick, f"row-{uuid.uuid4()}")
    await app.wait_for_result(instance_id, timeout=30)
    rows = [
        r
        for r in await app.storage.history.load_history(instance_id)
        if r.activity_id == wire.CARRIED_ID
    ]
    (row,) = rows
    assert row.event_type == "ActivityCompleted"
    data = wire.event_payload(row)
    assert violations("history-activity-completed", data) == []
    workflow = telemetry.span(instance_id, "workflow/otel_quick")
    version, kept_trace, kept_span, _flags = data["result"]["traceparent"].split("-")
    assert (version, kept_trace, kept_span) == (
        "00",
        f"{trace_id(workflow):032x}",
        f"{span_id(workflow):016x}",
    )
    report = await check_database(app.storage)
    assert report.row_differences == [], report.lines()


async def test_a_recurred_workflow_keeps_its_trace(app: App, telemetry: Telemetry) -> None:
    event_type = f"otel.loop.{uuid.uuid4()}"
    instance_id = await app.start_workflow(otel_looper, {"rounds": 2, "event": event_type})
    await wait_for_status(app, instance_id, "waiting_for_message")
    event = romancy.CloudEvent(id="e-1", type=event_type, source="tests", data={})
    await romancy.ingest_cloudevent(app, event)
    assert await app.wait_for_result(instance_id, timeout=30) == "looped"

    first_run, resumed = [s for s in telemetry.spans(instance_id) if s.name.startswith("workf")]
    assert trace_id(resumed) == trace_id(first_run)
    assert parent_id(resumed) == span_id(first_run)


async def test_a_step_may_not_take_the_kept_context_id(app: App) -> None:
    instance_id = await app.start_workflow(otel_squatter, f"squat-{uuid.uuid4()}")
    with pytest.raises(romancy.WorkflowFailedError) as failed:
        await app.wait_for_result(instance_id, timeout=30)
    assert failed.value.error_type == "InvalidValueError"
    assert "'romancy.carried' is reserved" in failed.value.error_message
    assert [r.activity_id for r in await app.storage.history.load_history(instance_id)] == [
        wire.CARRIED_ID,
        wire.WORKFLOW_FAILED_ID,
    ]


def test_importing_romancy_does_not_import_opentelemetry() -> None:
    probe = "import sys, romancy; print(sorted(m for m in sys.modules if 'opentelemetry' in m))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
