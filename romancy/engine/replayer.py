"""Checking recorded histories against today's workflow code, without running anything.

A check re-executes the workflow from the top with the engine's own replay machinery
(the :class:`~romancy.engine.replay.ReplayLog` and the step rule of ``begin_step``), in
a mode where every step must come from history: a recorded step is replayed as usual
(an activity recorded under another name is a violation, as in a real resume), and the
first step the history lacks ends the check — "caught up" when nothing recorded lies
ahead, a violation when recorded steps remain (the code took another path). Activities
never execute and nothing is written to the workflow's database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from romancy.config import AppConfig
from romancy.engine._context import Step, WorkflowContext
from romancy.engine.definitions import Workflow, WorkflowRef
from romancy.engine.replay import ReplayLog
from romancy.engine.signals import SuspendSignal
from romancy.errors import NonDeterminismError, RomancyError, describe
from romancy.hooks import WorkflowHooks
from romancy.serialization import from_json
from romancy.storage import HistoryRecord, Storage, WaitingSubscriber
from romancy.wire import history as wire
from romancy.wire.status import InstanceStatus


class CaughtUp(BaseException):
    """The check reached a step its history lacks: it ends there. A BaseException, so
    workflow code's ``except Exception`` does not swallow it."""

    def __init__(self, step_id: str) -> None:
        super().__init__(step_id)
        self.step_id = step_id


@dataclass(frozen=True)
class ReplayOutcome:
    """How one instance's history replayed against the current code.

    ``ended``: ``"caught_up"`` (stopped at ``stopped_at``, the first step not recorded),
    ``"completed"``, ``"failed"`` (raised as its history records) or ``"violation"``.
    ``problems`` is empty when the history replays cleanly.
    """

    instance_id: str
    workflow_name: str
    ended: str
    problems: tuple[str, ...] = ()
    stopped_at: str | None = None

    @property
    def ok(self) -> bool:
        """The history replays without a determinism problem."""
        return not self.problems


class ReplayRuntime:
    """The runtime workflow code sees during a check.

    ``scratch`` is a throwaway storage: calls that workflow code makes outside steps on
    every run (``subscribe``, ``join_group``) land there, never in the real database.
    """

    def __init__(self, scratch: Storage) -> None:
        self.storage = scratch
        self.config = AppConfig(database=scratch.url.original)
        self.worker_id = "romancy-replayer"
        self.hooks = WorkflowHooks()
        self.activity_substitutes: Mapping[str, Callable[..., Any]] = {}
        self.owner: Any = None

    async def delivered(self, waiting: WaitingSubscriber) -> None:
        """Nothing is delivered during a check."""

    def workflow_named(self, name: str) -> Workflow[Any, Any] | None:
        return None

    async def start(self, workflow: WorkflowRef, input: Any, instance_id: str | None = None) -> str:
        raise RomancyError("a replay check does not start workflows")


class _CheckingContext(WorkflowContext):
    """A context whose steps must all come from history."""

    def begin_step(self, name: str, step_id: str | None = None) -> Step:
        step = super().begin_step(name, step_id)
        if step.recorded is None:
            step.ensure_new_allowed()  # recorded steps still ahead: the code changed
            raise CaughtUp(step.id)
        return step


async def check_history(
    runtime: ReplayRuntime,
    workflow: Workflow[Any, Any],
    instance_id: str,
    input_json: Any,
    records: list[HistoryRecord],
) -> ReplayOutcome:
    """Replay ``records`` (one instance's history) against ``workflow``'s code."""
    log = ReplayLog(records)
    ctx = _CheckingContext(
        runtime=runtime, instance_id=instance_id, workflow_name=workflow.name, log=log
    )

    def outcome(ended: str, *problems: str, stopped_at: str | None = None) -> ReplayOutcome:
        return ReplayOutcome(instance_id, workflow.name, ended, problems, stopped_at)

    try:
        value = from_json(input_json, workflow.input_hint, what=f"input of {workflow.name!r}")
        await workflow(ctx, value)
    except CaughtUp as caught:
        return outcome("caught_up", stopped_at=caught.step_id)
    except NonDeterminismError as error:
        return outcome("violation", str(error))
    except SuspendSignal:  # recur: the history of this run ends with it
        return outcome(InstanceStatus.COMPLETED)
    except Exception as error:
        if any(r.event_type == wire.WORKFLOW_FAILED for r in records):
            return outcome(InstanceStatus.FAILED)
        return outcome(
            "violation",
            f"workflow {workflow.name!r} raised {describe(error)} while "
            "replaying a history that does not record a failure",
        )
    if log.replaying:
        return outcome(
            "violation",
            f"workflow {workflow.name!r} returned while recorded steps were still ahead "
            f"({', '.join(log.ahead()[:3])}): the code no longer reaches them",
        )
    return outcome(InstanceStatus.COMPLETED)
