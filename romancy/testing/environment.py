"""``WorkflowEnvironment``: an App for tests, with control over time and activities.

Time: deadlines (timers, receive and ``wait_event`` timeouts) are judged on the database
clock, so skipping time moves the stored deadlines earlier and wakes the App's leader
loops, which then fire them as they would have in real time. Workflow code still reads
the real clock (``datetime.now()`` does not jump).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from romancy import durations
from romancy.activity import Activity
from romancy.app import App
from romancy.channels import publish
from romancy.cloudevent import JSON_CONTENT_TYPE, CloudEvent
from romancy.errors import ConfigurationError, InvalidValueError
from romancy.events import ingest_cloudevent
from romancy.storage.deadlines import DeadlineStore
from romancy.testing.history import History, HistoryEvent
from romancy.wire.status import TERMINAL_STATUSES, InstanceStatus
from romancy.workflow import WorkflowRef

#: Background intervals short enough that a test never waits on a poll for long.
QUICK_OPTIONS: dict[str, Any] = {
    "workflow_resumption_interval": 0.1,
    "leader_heartbeat_interval": 0.5,
    "timer_check_interval": 1.0,
    "message_check_interval": 1.0,
    "stale_lock_interval": 1.0,
    "recur_check_interval": 0.5,
    "shutdown_timeout": 5.0,
}
#: Seconds between looks at the database while waiting for the workflows to settle.
_POLL = 0.02
#: Seconds ``__aenter__`` waits for this App to lead (it fires the timers).
_LEADERSHIP_WAIT = 10.0


class WorkflowEnvironment:
    """An :class:`~romancy.App` for tests: ``async with WorkflowEnvironment() as env:``.

    ``database`` defaults to a new SQLite file in a temporary folder (removed on exit).
    ``activities`` maps activities to fakes run in their place; other keyword options go
    to the App (its background loops default to :data:`QUICK_OPTIONS`).
    """

    def __init__(
        self,
        database: str | None = None,
        *,
        activities: Mapping[Activity[Any] | str, Callable[..., Any]] | None = None,
        **options: Any,
    ) -> None:
        self._database = database
        self._options = {**QUICK_OPTIONS, **options}
        self._fakes = dict(activities or {})
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._app: App | None = None
        self._deadlines: DeadlineStore | None = None

    async def __aenter__(self) -> WorkflowEnvironment:
        database = self._database
        if database is None:
            self._folder = tempfile.TemporaryDirectory(prefix="romancy-test-")
            database = f"sqlite:///{Path(self._folder.name) / 'workflows.db'}"
        app = App(database, **self._options)
        try:
            for activity, fake in self._fakes.items():
                self._substitute(app, activity, fake)
            await app.start()
        except BaseException:
            self._cleanup()
            raise
        self._app, self._deadlines = app, DeadlineStore(app.storage.database)
        # The leader fires timers: a skip right after entering must find one.
        deadline = time.monotonic() + _LEADERSHIP_WAIT
        while True:
            if app.is_leader or time.monotonic() > deadline:
                break
            await asyncio.sleep(_POLL)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            if self._app is not None:
                await self._app.shutdown()
        finally:
            self._app = self._deadlines = None
            self._cleanup()

    def _cleanup(self) -> None:
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    @property
    def app(self) -> App:
        """The App this environment runs (started inside ``async with``)."""
        if self._app is None:
            raise ConfigurationError("use the environment inside 'async with' first")
        return self._app

    # ---------------------------------------------------------------- activities

    def replace(self, activity: Activity[Any] | str, fake: Callable[..., Any]) -> None:
        """Run ``fake(ctx, *args, **kwargs)`` instead of ``activity`` from now on; its
        result is recorded under the activity's name, like the real one's."""
        self._substitute(self.app, activity, fake)

    @staticmethod
    def _substitute(app: App, activity: Activity[Any] | str, fake: Callable[..., Any]) -> None:
        name = activity if isinstance(activity, str) else getattr(activity, "name", None)
        if not isinstance(name, str) or not callable(fake):
            raise InvalidValueError(
                "a fake replaces an activity (or an activity name) by a function, "
                f"not {activity!r} by {fake!r}"
            )
        app.engine.activity_substitutes[name] = fake

    # ------------------------------------------------------------------ workflows

    async def start(
        self, workflow: WorkflowRef, input: Any = None, *, instance_id: str | None = None
    ) -> str:
        """Start an instance (see :meth:`App.start_workflow`)."""
        return await self.app.start_workflow(workflow, input, instance_id=instance_id)

    async def execute(
        self, workflow: WorkflowRef, input: Any = None, *, timeout: float = 30.0
    ) -> Any:
        """Start an instance and return its :meth:`result`."""
        return await self.result(await self.start(workflow, input), timeout=timeout)

    async def result(self, instance_id: str, *, timeout: float = 30.0) -> Any:
        """The instance's output (or the error it ended with), skipping time whenever
        every workflow waits only on time: the next deadline is brought to now.

        ``TimeoutError`` after ``timeout`` real seconds (a workflow waiting for a
        message nobody sends never ends).
        """
        app = self.app
        async with asyncio.timeout(timeout):
            while True:
                instance = await app.get_instance(instance_id)
                if instance.status in TERMINAL_STATUSES:
                    return await app.wait_for_result(instance_id)
                if instance.status in _TIMED_WAITS and await self._skip_to_next():
                    continue
                await asyncio.sleep(_POLL)

    async def run_until_idle(self, *, timeout: float = 30.0) -> None:
        """Skip from deadline to deadline until no workflow waits on time any more (all
        ended, or waiting for messages or events with no timeout)."""
        async with asyncio.timeout(timeout):
            while True:
                await self.settle()
                if not await self._skip_to_next():
                    return

    async def settle(self) -> None:
        """Wait until no workflow runs and every due deadline has been handled: each
        waits on time, a message or an event, or has ended."""
        assert self._deadlines is not None
        while True:
            if await self._deadlines.settled(self.app.config.framework):
                return
            await asyncio.sleep(_POLL)

    async def _skip_to_next(self) -> bool:
        """If every workflow is settled, skip to the soonest deadline; ``False`` if not
        settled or there is none."""
        assert self._deadlines is not None
        framework = self.app.config.framework
        if not await self._deadlines.settled(framework):
            return False
        soonest = await self._deadlines.next_deadline(framework)
        if soonest is None:
            return False
        await self.skip(max(soonest - datetime.now(UTC), timedelta(0)))
        await self.settle()  # let the App fire it before looking again
        return True

    # ----------------------------------------------------------------------- time

    async def skip(self, span: timedelta | float) -> None:
        """Let ``span`` pass for the workflows: deadlines within it are due now (and
        fired at once); later ones come ``span`` sooner."""
        seconds = durations.seconds(span)
        if seconds < 0:
            raise InvalidValueError(f"skip needs a span of zero or more, not {span!r}")
        assert self._deadlines is not None
        await self._deadlines.pull_in(self.app.config.framework, timedelta(seconds=seconds))
        engine = self.app.engine
        engine.timers.wakeup.set()
        engine.message_deadlines.wakeup.set()

    # ------------------------------------------------------------------- messages

    async def publish(
        self, channel: str, data: Any, *, metadata: dict[str, Any] | None = None
    ) -> str:
        """Publish a channel message (as plain code would); returns its message id."""
        return await publish(self.app, channel, data, metadata=metadata)

    async def send_event(
        self,
        event_type: str,
        data: Any = None,
        *,
        source: str = "romancy.testing",
        event_id: str | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> str:
        """Ingest a CloudEvent as the HTTP endpoint would; returns its message id."""
        event = CloudEvent(
            id=event_id or str(uuid.uuid4()),
            type=event_type,
            source=source,
            data=data,
            datacontenttype=JSON_CONTENT_TYPE,
            extensions=dict(extensions or {}),
        )
        return await ingest_cloudevent(self.app, event)

    # -------------------------------------------------------------------- history

    async def history(self, instance_id: str) -> History:
        """The instance's history as typed events."""
        records = await self.app.storage.history.load_history(instance_id)
        return History([HistoryEvent.of(record) for record in records])


_TIMED_WAITS = (InstanceStatus.WAITING_FOR_TIMER, InstanceStatus.WAITING_FOR_MESSAGE)
