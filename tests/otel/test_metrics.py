"""The ``romancy.*`` metrics after a few workflows."""

from __future__ import annotations

import uuid

import pytest

import romancy
from romancy import App
from tests.integration.engine.helpers import eventually, wait_for_status

from .telemetry import Telemetry
from .workflows import otel_failing, otel_quick, otel_waiter


async def test_counts_durations_and_runs_in_flight(app: App, telemetry: Telemetry) -> None:
    quick = [await app.start_workflow(otel_quick, f"m-{uuid.uuid4()}") for _ in range(3)]
    failing = await app.start_workflow(otel_failing)
    event_type = f"otel.metrics.{uuid.uuid4()}"
    waiting = await app.start_workflow(otel_waiter, event_type)
    for instance_id in quick:
        await app.wait_for_result(instance_id, timeout=30)
    with pytest.raises(romancy.WorkflowFailedError):
        await app.wait_for_result(failing, timeout=30)
    await wait_for_status(app, waiting, "waiting_for_message")
    await eventually(lambda: not app.engine.running, what="the waiting run to stop")
    # Only runs executing count as in flight: the waiting workflow is not one.
    assert telemetry.total("romancy.workflow.runs_in_flight") == 0
    await app.cancel_workflow(waiting, "enough")
    with pytest.raises(romancy.WorkflowCancelledError):
        await app.wait_for_result(waiting, timeout=30)
    await eventually(lambda: telemetry.total("romancy.workflow.cancelled") == 1)

    assert telemetry.total("romancy.workflow.started") == 5
    assert telemetry.total("romancy.workflow.started", workflow_name="otel_quick") == 3
    assert telemetry.total("romancy.workflow.completed") == 3
    assert telemetry.total("romancy.workflow.failed") == 1
    assert telemetry.total("romancy.workflow.cancelled") == 1
    assert telemetry.total("romancy.workflow.duration") == 5  # one per ended workflow
    # otel_flaky: 4 calls, each failing once (2 attempts); otel_broken: 1 attempt.
    assert telemetry.total("romancy.activity.attempts", activity_name="otel_flaky") == 8
    assert telemetry.total("romancy.activity.attempts", activity_name="otel_broken") == 1
    assert telemetry.total("romancy.activity.retries") == 4
    assert telemetry.total("romancy.activity.duration") == 5  # one per step executed
    assert telemetry.total("romancy.workflow.runs_in_flight") == 0

    assert telemetry.units() == {
        "romancy.workflow.started": "{workflow}",
        "romancy.workflow.completed": "{workflow}",
        "romancy.workflow.failed": "{workflow}",
        "romancy.workflow.cancelled": "{workflow}",
        "romancy.workflow.duration": "s",
        "romancy.workflow.runs_in_flight": "{run}",
        "romancy.activity.attempts": "{attempt}",
        "romancy.activity.retries": "{retry}",
        "romancy.activity.duration": "s",
    }
