"""The narrow interfaces between the engine and what runs on it.

Contexts, channels, events, timers and compensations talk to a :class:`Runtime`; a
:class:`~romancy.engine.run.WorkflowRun` calls back into a :class:`RunHost`. The
:class:`~romancy.engine.engine.Engine` implements both; nothing here knows the App.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from romancy.config import AppConfig
    from romancy.engine.definitions import Workflow, WorkflowRef
    from romancy.engine.signals import ChannelMessageSuspend
    from romancy.hooks import WorkflowHooks
    from romancy.storage import InstanceRecord, Storage, WaitingSubscriber


@dataclass(frozen=True)
class Outcome:
    """How an instance ended, as a waiter needs it."""

    instance_id: str
    workflow_name: str
    status: str
    output_data: str | None

    @classmethod
    def of(cls, instance: InstanceRecord) -> Outcome:
        return cls(
            instance.instance_id, instance.workflow_name, instance.status, instance.output_data
        )


class Runtime(Protocol):
    """What workflow code and ingestion reach: storage, identity, hooks, wake-ups."""

    @property
    def storage(self) -> Storage: ...

    @property
    def config(self) -> AppConfig: ...

    @property
    def worker_id(self) -> str: ...

    @property
    def hooks(self) -> WorkflowHooks: ...

    @property
    def activity_substitutes(self) -> Mapping[str, Callable[..., Any]]:
        """Functions run instead of the activities they are keyed by (test fakes); the
        step is recorded under the activity's own name."""

    @property
    def owner(self) -> Any:
        """The object this runtime serves (the App), handed to workflow code as
        ``ctx.app``; the engine never looks inside it."""

    async def delivered(self, waiting: WaitingSubscriber) -> None:
        """A message went into ``waiting``: resume it here at once if it is ours."""

    def workflow_named(self, name: str) -> Workflow[Any, Any] | None:
        """The workflow registered here as ``name``."""

    async def start(self, workflow: WorkflowRef, input: Any, instance_id: str | None = None) -> str:
        """Create an instance and run it here; returns its id."""


class RunHost(Runtime, Protocol):
    """What a run calls back into when it suspends, ends or meets an outage."""

    def retry_later(self, instance_id: str, delay: float = 1.0) -> None: ...

    async def mark_cancelled(self, instance_id: str, reason: str) -> bool: ...

    def finished(self, outcome: Outcome) -> None: ...

    def timer_registered(self, expires_at: datetime) -> None: ...

    async def message_wait_registered(
        self, instance_id: str, signal: ChannelMessageSuspend
    ) -> None: ...


class RuntimeOwner(Protocol):
    """What runs on a runtime (the App): public calls that take an App accept it."""

    @property
    def engine(self) -> Runtime: ...
