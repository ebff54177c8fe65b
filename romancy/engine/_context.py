"""The context of one workflow run, and the one rule every recorded step follows.

A step (an activity call, a receive, a publish, a queued event, a timer) has an id —
explicit, or generated ``name:1``, ``name:2``… — that the run may use once. Its
recorded outcome, if any, is taken from the replay log; a step with a generated id that
the history lacks is refused while recorded steps are still ahead (the code changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from romancy.engine.session import current_session
from romancy.errors import InvalidValueError, RomancyError
from romancy.limits import fit_name
from romancy.wire import history as wire
from romancy.wire.channels import direct_channel

if TYPE_CHECKING:
    from romancy.engine.replay import ReplayLog
    from romancy.engine.runtime import Runtime
    from romancy.storage import ActivitySession, HistoryRecord, Transaction


class WorkflowContext:
    """Identity and replay state of one running workflow instance.

    Pass it to every activity and durable call (``sleep``, ``receive``, ``publish``…).
    Inside an activity, :attr:`session` is the database session of the step's
    transaction.
    """

    def __init__(
        self, *, runtime: Runtime, instance_id: str, workflow_name: str, log: ReplayLog
    ) -> None:
        # Plain attributes, fixed for the run (``Final``: read-only to type checkers).
        #: This workflow instance's id.
        self.instance_id: Final = instance_id
        #: The registered name of the running workflow.
        self.workflow_name: Final = workflow_name
        #: The engine running this workflow, as durable calls reach it.
        self.runtime: Final = runtime
        #: The id of the worker (App) executing this instance.
        self.worker_id: Final = runtime.worker_id
        #: The App running this workflow.
        self.app: Final[Any] = runtime.owner
        #: The storage of the App (advanced use).
        self.storage: Final = runtime.storage
        #: The App's lifecycle hooks.
        self.hooks: Final = runtime.hooks
        #: The replay log (engine use).
        self.log: Final = log
        self._counters: dict[str, int] = {}
        self._used_ids: set[str] = set()
        self._direct: set[str] = set()  # logical channels subscribed in direct mode
        self._subscribed: set[str] = set()
        self._uses_channels = False

    @property
    def is_replaying(self) -> bool:
        """Recorded steps remain ahead: the code is re-executing from history."""
        return self.log.replaying

    @property
    def session(self) -> ActivitySession:
        """The current activity's database session (its transaction opens on first use).

        Statements run on it commit or roll back together with the step's history row.
        Only available inside an activity.
        """
        session = current_session.get()
        if session is None:
            raise RomancyError("ctx.session is only available inside an activity")
        return session

    def generate_activity_id(self, name: str) -> str:
        """The next deterministic id for ``name``: ``name:1``, ``name:2``, …"""
        count = self._counters.get(name, 0) + 1
        self._counters[name] = count
        return fit_name(f"{name}:{count}")

    def begin_step(self, name: str, step_id: str | None = None) -> Step:
        """Open the step ``step_id`` (or the next generated id for ``name``): claim the
        id and take its recorded outcome, if any."""
        generated = step_id is None
        step_id = step_id or self.generate_activity_id(name)
        if step_id == wire.CARRIED_ID or wire.is_go_delivery_key(step_id):
            raise InvalidValueError(
                f"step id {step_id!r} is reserved: romancy's own records and Go's delivery "
                "keys (channel:<name>:<n>) cannot be step ids"
            )
        if step_id in self._used_ids:
            raise RomancyError(
                f"activity ID conflict: {step_id!r} is used twice in workflow "
                f"{self.workflow_name!r}; give concurrent activities distinct explicit ids"
            )
        self._used_ids.add(step_id)
        return Step(self, step_id, self.log.take(step_id), generated)

    def channel_name(self, channel: str) -> str:
        """The stored channel a logical channel maps to (``"<c>:<instance>"`` if direct)."""
        return direct_channel(channel, self.instance_id) if channel in self._direct else channel

    def note_subscription(self, channel: str, direct: bool) -> None:
        """Remember a subscription made by this run (direct ones map channel names)."""
        self._uses_channels = True
        self._subscribed.add(channel)
        if direct:
            self._direct.add(channel)
        else:
            self._direct.discard(channel)

    def forget_subscription(self, channel: str) -> None:
        self._direct.discard(channel)
        self._subscribed.discard(channel)

    def is_subscribed(self, channel: str) -> bool:
        """This run subscribed to ``channel`` (in any mode)."""
        return channel in self._subscribed

    def note_group(self) -> None:
        self._uses_channels = True

    @property
    def uses_channels(self) -> bool:
        """This run subscribed or joined a group: its rows go when the workflow ends."""
        return self._uses_channels

    def __repr__(self) -> str:
        return f"<WorkflowContext {self.workflow_name} {self.instance_id}>"


@dataclass(frozen=True)
class Step:
    """One recorded step of a run, as :meth:`WorkflowContext.begin_step` opened it."""

    ctx: WorkflowContext
    id: str
    #: The history row of an earlier run, or ``None`` for a step not yet taken.
    recorded: HistoryRecord | None
    generated: bool

    @property
    def replayed(self) -> bool:
        """The step happened before: its outcome is :attr:`recorded`."""
        return self.recorded is not None

    @property
    def result(self) -> Any:
        """The recorded step's result value."""
        assert self.recorded is not None
        return wire.read_step(self.recorded).result

    def ensure_new_allowed(self) -> None:
        """Refuse to take a step the history lacks while recorded ones remain ahead (only
        for generated ids: an explicit id marks a step the author knows is new)."""
        if self.generated:
            self.ctx.log.ensure_new_step_allowed(self.id, self.ctx.workflow_name)

    async def record(
        self,
        event_type: str,
        data: str | bytes,
        *,
        tx: Transaction | None = None,
        ignore_duplicate: bool = False,
    ) -> bool:
        """Write the step's history row (in ``tx`` when given)."""
        return await self.ctx.storage.history.append_history(
            self.ctx.instance_id,
            self.id,
            event_type,
            data,
            ignore_duplicate=ignore_duplicate,
            tx=tx,
        )
