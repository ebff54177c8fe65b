"""The instruments ``OTelHooks`` records into, all named under ``romancy.``."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.metrics import Counter, Histogram, Meter, UpDownCounter

#: Name given to the tracer and the meter (the instrumentation scope), as in Go.
SCOPE = "romancy"


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
        def workflows(name: str, description: str) -> Counter:
            return meter.create_counter(name, unit="{workflow}", description=description)

        return cls(
            workflows_started=workflows("romancy.workflow.started", "Workflows started."),
            workflows_completed=workflows("romancy.workflow.completed", "Workflows completed."),
            workflows_failed=workflows("romancy.workflow.failed", "Workflows that failed."),
            workflows_cancelled=workflows("romancy.workflow.cancelled", "Workflows cancelled."),
            workflow_duration=meter.create_histogram(
                "romancy.workflow.duration",
                unit="s",
                description="Time from the start (or resume) of the run that ended a workflow.",
            ),
            runs_in_flight=meter.create_up_down_counter(
                "romancy.workflow.runs_in_flight",
                unit="{run}",
                description="Workflow runs executing on this worker now.",
            ),
            activity_attempts=meter.create_counter(
                "romancy.activity.attempts",
                unit="{attempt}",
                description="Activity executions, every retry included (replays excluded).",
            ),
            activity_retries=meter.create_counter(
                "romancy.activity.retries",
                unit="{retry}",
                description="Failed activity attempts that another attempt follows.",
            ),
            activity_duration=meter.create_histogram(
                "romancy.activity.duration",
                unit="s",
                description="Time an activity step took, retries and their delays included.",
            ),
        )
