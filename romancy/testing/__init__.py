"""Testing workflows: a time-skipping environment, fake activities, history assertions
and a replayer that checks recorded histories against changed code (see
docs/testing-your-workflows.md)."""

from romancy.engine.replayer import ReplayOutcome
from romancy.testing.environment import QUICK_OPTIONS, WorkflowEnvironment
from romancy.testing.fixture import workflow_environment
from romancy.testing.history import History, HistoryEvent
from romancy.testing.replay import (
    RecordedHistory,
    ReplayReport,
    histories_from_json,
    load_histories,
    replay,
)

__all__ = [
    "QUICK_OPTIONS",
    "History",
    "HistoryEvent",
    "RecordedHistory",
    "ReplayOutcome",
    "ReplayReport",
    "WorkflowEnvironment",
    "histories_from_json",
    "load_histories",
    "replay",
    "workflow_environment",
]
