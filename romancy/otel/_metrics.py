"""The instruments ``OTelHooks`` records into, all named under ``romancy.``."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.metrics import Counter, Histogram, Meter, UpDownCounter

#: Name given to the tracer and the meter (the instrumentation scope), as in Go.
SCOPE = "romancy"

#: Every metric of docs/otel.md: the :class:`Instruments` field it fills, the ``Meter``
#: method that makes it, then its name, unit and description.
_METRICS = (
    (
        "workflows_started",
        "create_counter",
        "romancy.workflow.started",
        "{workflow}",
        "Workflows started.",
    ),
    (
        "workflows_completed",
        "create_counter",
        "romancy.workflow.completed",
        "{workflow}",
        "Workflows completed.",
    ),
    (
        "workflows_failed",
        "create_counter",
        "romancy.workflow.failed",
        "{workflow}",
        "Workflows that failed.",
    ),
    (
        "workflows_cancelled",
        "create_counter",
        "romancy.workflow.cancelled",
        "{workflow}",
        "Workflows cancelled.",
    ),
    (
        "workflow_duration",
        "create_histogram",
        "romancy.workflow.duration",
        "s",
        "Time from the start (or resume) of the run that ended a workflow.",
    ),
    (
        "runs_in_flight",
        "create_up_down_counter",
        "romancy.workflow.runs_in_flight",
        "{run}",
        "Workflow runs executing on this worker now.",
    ),
    (
        "activity_attempts",
        "create_counter",
        "romancy.activity.attempts",
        "{attempt}",
        "Activity executions, every retry included (replays excluded).",
    ),
    (
        "activity_retries",
        "create_counter",
        "romancy.activity.retries",
        "{retry}",
        "Failed activity attempts that another attempt follows.",
    ),
    (
        "activity_duration",
        "create_histogram",
        "romancy.activity.duration",
        "s",
        "Time an activity step took, retries and their delays included.",
    ),
)


@dataclass(frozen=True)
class Instruments:
    """One counter, histogram or up-down counter per metric of docs/otel.md."""

    workflows_started: Counter
    workflows_completed: Counter
    workflows_failed: Counter
    workflows_cancelled: Counter
    workflow_duration: Histogram
    runs_in_flight: UpDownCounter
    activity_attempts: Counter
    activity_retries: Counter
    activity_duration: Histogram

    @classmethod
    def create(cls, meter: Meter) -> Instruments:
        """Every instrument, made by ``meter``."""
        return cls(
            **{
                field: getattr(meter, factory)(name, unit=unit, description=description)
                for field, factory, name, unit, description in _METRICS
            }
        )
