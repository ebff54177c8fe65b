"""The :class:`WorkflowContext` every workflow and activity receives."""

from __future__ import annotations

from typing import TYPE_CHECKING

from romancy.engine.replay import ReplayLog
from romancy.engine.session import ActivitySession, current_session
from romancy.errors import RomancyError
from romancy.hooks import WorkflowHooks
from romancy.limits import fit_name

if TYPE_CHECKING:
    from romancy.app import App
    from romancy.storage import Storage


class WorkflowContext:
    """Identity and replay state of one running workflow instance.

    Pass it to every activity and durable call (``sleep``, ``receive``, ``publish``…).
    Inside an activity, :attr:`session` is the database session of the step's
    transaction.
    """

    def __init__(
        self,
        *,
        app: App,
        instance_id: str,
        workflow_name: str,
        log: ReplayLog,
    ) -> None:
        self._app = app
        self._instance_id = instance_id
        self._workflow_name = workflow_name
        self._log = log
        self._counters: dict[str, int] = {}
        self._used_ids: set[str] = set()
        self._direct: set[str] = set()  # logical channels subscribed in direct mode
        self._subscribed: set[str] = set()
        self._uses_channels = False

    @property
    def instance_id(self) -> str:
        """This workflow instance's id."""
        return self._instance_id

    @property
    def workflow_name(self) -> str:
        """The registered name of the running workflow."""
        return self._workflow_name

    @property
    def worker_id(self) -> str:
        """The id of the worker (App) executing this instance."""
        return self._app.worker_id

    @property
    def app(self) -> App:
        """The App running this workflow."""
        return self._app

    @property
    def storage(self) -> Storage:
        """The storage of the App (advanced use)."""
        return self._app.storage

    @property
    def hooks(self) -> WorkflowHooks:
        """The App's lifecycle hooks."""
        return self._app.hooks

    @property
    def is_replaying(self) -> bool:
        """Recorded steps remain ahead: the code is re-executing from history."""
        return self._log.replaying

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

    def claim_activity_id(self, activity_id: str) -> None:
        """Refuse an id this run has already used (two steps may not share one)."""
        if activity_id in self._used_ids:
            raise RomancyError(
                f"activity ID conflict: {activity_id!r} is used twice in workflow "
                f"{self._workflow_name!r}; give concurrent activities distinct explicit ids"
            )
        self._used_ids.add(activity_id)

    def channel_name(self, channel: str) -> str:
        """The stored channel a logical channel maps to (``"<c>:<instance>"`` if direct)."""
        return f"{channel}:{self._instance_id}" if channel in self._direct else channel

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

    @property
    def log(self) -> ReplayLog:
        """The replay log (engine use)."""
        return self._log

    def __repr__(self) -> str:
        return f"<WorkflowContext {self._workflow_name} {self._instance_id}>"
