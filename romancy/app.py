"""The :class:`App`: one worker of a romancy deployment."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from romancy import hosting
from romancy.config import AppConfig
from romancy.engine.background import BackgroundLoops
from romancy.engine.cancellation import finish_first
from romancy.engine.definitions import WorkflowRegistry
from romancy.engine.engine import Engine
from romancy.engine.runtime import Outcome
from romancy.errors import (
    ConfigurationError,
    RomancyError,
    WorkflowCancelledError,
    WorkflowFailedError,
    WorkflowNotFoundError,
)
from romancy.http import RomancyASGI
from romancy.limits import check_name
from romancy.outbox import OutboxRelayer
from romancy.serialization import from_json, loads
from romancy.storage import (
    InstancePage,
    InstanceQuery,
    InstanceRecord,
    OutboxEntry,
    Storage,
    parse_database_url,
)
from romancy.storage.notify import Listener
from romancy.wire import history as wire
from romancy.wire import notify
from romancy.wire.status import InstanceStatus, OutboxStatus
from romancy.workflow import Workflow, WorkflowRef, defined_workflows

log = logging.getLogger("romancy")

#: Seconds a channel-message NOTIFY waits before the leader looks for missed deliveries.
MISSED_DELIVERY_GRACE = 0.3
#: Seconds start() waits for the LISTEN connection on PostgreSQL.
LISTEN_READY_TIMEOUT = 5.0

OutputT = TypeVar("OutputT")


@dataclass(frozen=True)
class WorkflowResult(Generic[OutputT]):
    """Where an instance stands: its status, and its output or error once it ended."""

    instance_id: str
    status: str
    output: OutputT | None = None
    error: RomancyError | None = None


class App:
    """A romancy worker: storage, the engine and its background loops.

    ``App(database="postgresql://…", service_name="orders", …)`` takes every option of
    :class:`~romancy.config.AppConfig` (Go Romancy's ``With…`` options). Use it as
    ``async with App(...) as app:`` or call :meth:`start` and :meth:`shutdown`.
    """

    def __init__(
        self, database: str | None = None, *, config: AppConfig | None = None, **options: Any
    ) -> None:
        if database is not None:
            options["database"] = database
        if config is not None and options:
            raise RomancyError("pass either config= or keyword options to App, not both")
        self.config = config or AppConfig.from_options(options)
        dialect = parse_database_url(self.config.database).dialect
        if self.config.listen_notify and dialect != "postgresql":
            raise ConfigurationError(
                f"listen_notify=True needs PostgreSQL; {self.config.database!r} is {dialect}"
            )
        self._notify = self.config.listen_notify is not False and dialect == "postgresql"
        self._storage: Storage | None = None
        #: This worker's id (the ``locked_by`` of the instances it runs).
        self.worker_id: Final = self.config.worker_id
        #: The lifecycle hooks.
        self.hooks: Final = self.config.hooks
        #: The engine (advanced use).
        self.engine: Final = Engine(self.config, WorkflowRegistry(), self.hooks, owner=self)
        self._loops = BackgroundLoops(self.engine)
        self._relayer: OutboxRelayer | None = None
        self._listener: Listener | None = None
        self._started = False

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Connect, migrate (unless ``auto_migrate=False``) and start the background loops."""
        if self._started:
            raise RomancyError("app already running")
        storage = await Storage.open(self.config.database, pool_size=self.config.pool_size)
        try:
            if self.config.auto_migrate:
                await storage.migrate(self.config.migrations_source)
        except BaseException:
            await storage.close()
            raise
        self._storage = storage
        self.engine.attach(storage)
        storage.notify_enabled = self._notify
        for workflow in defined_workflows().values():
            if workflow.name not in self.engine.workflows:
                self.engine.workflows.register(workflow)
        self._loops.start()
        if self.config.outbox_enabled:
            self._relayer = OutboxRelayer(storage, self.config)
            self._relayer.start()
        if self._notify:
            self._listener = Listener(
                storage.url.libpq_url(),
                self._on_notify,
                self.config.notify_reconnect_delay,
                application_name=f"romancy-listener-{self.worker_id}"[:63],
            )
            self._listener.start()
            # Listening before start() returns: a message published right after would
            # otherwise miss its wake-up and wait for the poll. Polling covers a listener
            # that cannot connect, so this wait is bounded.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(LISTEN_READY_TIMEOUT):
                    await self._listener.connected.wait()
        self._started = True
        log.info("romancy worker %s started on %s", self.worker_id, storage.url.redacted)

    async def shutdown(self) -> None:
        """Stop the loops, let running workflows reach a resting point, hand back the rest."""
        if not self._started:
            return
        self._started = False
        # A cancellation arriving meanwhile (Ctrl-C that uvicorn re-raises after serving,
        # an outer timeout) must not leave the leader lease and instance locks held until
        # they expire: the stop runs to its end, then the cancellation goes on.
        await finish_first(self._stop())

    async def _stop(self) -> None:
        for part in (self._listener, self._relayer):
            if part is not None:
                await part.stop()
        self._listener = self._relayer = None
        await self._loops.stop()
        await self.engine.shutdown(self.config.shutdown_timeout)
        assert self._storage is not None
        await self._storage.close()

    async def __aenter__(self) -> App:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown()

    # ---------------------------------------------------------------- properties

    @property
    def storage(self) -> Storage:
        """The open storage (after :meth:`start`)."""
        if self._storage is None:
            raise RomancyError("the App is not started; call await app.start() first")
        return self._storage

    @property
    def is_running(self) -> bool:
        """Started and not shut down."""
        return self._started

    @property
    def is_leader(self) -> bool:
        """Whether this worker currently runs the leader-only tasks."""
        return self._loops.is_leader

    # ---------------------------------------------------------------------- http

    def asgi(self) -> RomancyASGI:
        """The HTTP endpoint as an ASGI application (mountable under any prefix)."""
        return RomancyASGI(self)

    async def serve(self, host: str = "127.0.0.1", port: int = 8080) -> None:
        """Serve :meth:`asgi` until cancelled (Go's ``ListenAndServe``), starting the App
        first if needed and shutting it down afterwards. Needs ``romancy[http]``."""
        await hosting.serve(self, host, port)

    def lifespan(self, host: object = None) -> AbstractAsyncContextManager[None]:
        """The App's run as a host framework's lifespan: ``Starlette(lifespan=app.lifespan)``
        or FastAPI's ``lifespan=`` start it with the host and shut it down with it (a
        mounted :meth:`asgi` gets no lifespan events of its own)."""
        return hosting.lifespan(self, host)

    def _on_notify(self, channel: str, payload: str) -> None:
        """A NOTIFY hint arrived: wake whatever it concerns (polling covers the rest)."""
        if channel == notify.RESUMABLE:
            self.engine.resume_wakeup.set()
        elif channel == notify.TIMER_EXPIRED:
            # A timer registered elsewhere: the leader's check runs when it is due.
            expires_at = notify.timer_expiry(payload)
            if expires_at is None:
                self.engine.timers.wakeup.set()
            else:
                self.engine.timers.add(expires_at)
        elif channel == notify.CHANNEL_MESSAGE:
            # The publisher delivers into the waiters itself, lock-first: look for a
            # missed wake-up only once it has had the time to, instead of racing it.
            wakeup = self.engine.message_deadlines.wakeup
            asyncio.get_running_loop().call_later(MISSED_DELIVERY_GRACE, wakeup.set)
        elif channel == notify.OUTBOX_PENDING and self._relayer is not None:
            self._relayer.wakeup.set()

    # ----------------------------------------------------------------- workflows

    def register_workflow(self, workflow: Workflow[Any, Any]) -> None:
        """Make ``workflow`` runnable and resumable on this worker (Go's ``RegisterWorkflow``).

        Workflows defined with ``@romancy.workflow`` are registered automatically.
        """
        self.engine.workflows.register(workflow)

    async def start_workflow(
        self, workflow: WorkflowRef, input: Any = None, *, instance_id: str | None = None
    ) -> str:
        """Start an instance and return its id at once; it runs on this worker.

        ``workflow`` is a workflow or the name of one registered with this App.
        ``instance_id`` picks the id (a non-empty string of at most 255 characters);
        starting twice with one id raises :class:`~romancy.WorkflowAlreadyExistsError`.
        """
        self.storage  # noqa: B018 - fail early and clearly when not started
        return await self.engine.start(workflow, input, instance_id)

    async def get_instance(self, instance_id: str) -> InstanceRecord:
        """The instance row (any runtime's), or :class:`~romancy.WorkflowNotFoundError`."""
        instance = await self.storage.instances.get_instance(check_name(instance_id, "instance id"))
        if instance is None:
            raise WorkflowNotFoundError(instance_id)
        return instance

    async def get_workflow_result(self, instance_id: str) -> WorkflowResult[Any]:
        """The instance's status, with its typed output or its error once it ended."""
        return await self._result(await self.get_instance(instance_id))

    async def wait_for_result(self, instance_id: str, *, timeout: float | None = None) -> Any:
        """Wait until the instance ends; its output, or the error it ended with."""
        check_name(instance_id, "instance id")
        result = await self._result(await self.engine.wait(instance_id, timeout))
        if result.error is not None:
            raise result.error
        return result.output

    async def cancel_workflow(self, instance_id: str, reason: str = "") -> None:
        """Cancel an instance: its compensations run, and it ends ``cancelled``.

        Cancelling a cancelled instance does nothing; a completed or failed one raises
        :class:`~romancy.WorkflowNotCancellableError`.
        """
        await self.engine.cancel(check_name(instance_id, "instance id"), reason)

    async def find_instances(
        self, input_filters: dict[str, Any] | None = None
    ) -> list[InstanceRecord]:
        """This App's instances whose input holds the given values (first page of 50)."""
        page = await self.find_instances_with_options(input_filters=input_filters or {})
        return page.instances

    async def find_instances_with_options(self, **options: Any) -> InstancePage:
        """Search with every option of :class:`~romancy.storage.InstanceQuery`.

        Lists this App's framework unless ``framework`` says otherwise (``None``: all).
        """
        options.setdefault("framework", self.config.framework)
        return await self.storage.instances.list_instances(InstanceQuery(**options))

    # -------------------------------------------------------------------- outbox

    async def list_outbox_events(
        self, *, status: str | None = None, event_type: str | None = None, limit: int = 100
    ) -> list[OutboxEntry]:
        """Outbox events of every runtime, newest first (see ``OutboxStore.list_events``)."""
        return await self.storage.outbox.list_events(
            status=status, event_type=event_type, limit=limit
        )

    async def retry_outbox_events(
        self, event_ids: Sequence[str] = (), *, status: str = OutboxStatus.FAILED
    ) -> int:
        """Send ``failed`` (or other ``status``) events again; returns how many were reset.

        See ``OutboxStore.retry_events``: an unknown id raises
        :class:`~romancy.OutboxEventNotFoundError` and resets nothing.
        """
        reset = await self.storage.outbox.retry_events(event_ids, status=status)
        if reset and self._relayer is not None:
            self._relayer.wakeup.set()
        return reset

    async def _result(self, instance: InstanceRecord | Outcome) -> WorkflowResult[Any]:
        workflow = self.engine.workflows.get(instance.workflow_name)
        status, instance_id = instance.status, instance.instance_id
        if status == InstanceStatus.COMPLETED:
            hint = workflow.output_hint if workflow else None
            output = from_json(loads(instance.output_data), hint, what="workflow output")
            return WorkflowResult(instance_id, status, output)
        if status == InstanceStatus.FAILED:
            error_type, message = await self._failure(instance_id, instance.output_data)
            return WorkflowResult(
                instance_id, status, error=WorkflowFailedError(instance_id, error_type, message)
            )
        if status == InstanceStatus.CANCELLED:
            reason = await self._cancel_reason(instance_id)
            return WorkflowResult(
                instance_id, status, error=WorkflowCancelledError(instance_id, reason)
            )
        return WorkflowResult(instance_id, status)

    async def _failure(self, instance_id: str, output_data: str | None) -> tuple[str, str]:
        for record in await self.storage.history.load_history(instance_id):
            if record.event_type == wire.WORKFLOW_FAILED:
                return wire.failure_of(record)
        return wire.read_failure(loads(output_data))

    async def _cancel_reason(self, instance_id: str) -> str:
        for record in await self.storage.history.load_history(instance_id):
            if record.activity_id == wire.WORKFLOW_CANCELLED_ID:
                return wire.cancel_reason(record)
        return ""


# Go-shaped module functions (``romancy.StartWorkflow(ctx, app, wf, input)`` and kin), so
# the API mapping to the Go package is one-to-one.


def register_workflow(app: App, workflow: Workflow[Any, Any]) -> None:
    """Same as :meth:`App.register_workflow`."""
    app.register_workflow(workflow)


async def start_workflow(
    app: App,
    workflow: WorkflowRef,
    input: Any = None,
    *,
    instance_id: str | None = None,
) -> str:
    """Same as :meth:`App.start_workflow`."""
    return await app.start_workflow(workflow, input, instance_id=instance_id)


async def get_workflow_result(app: App, instance_id: str) -> WorkflowResult[Any]:
    """Same as :meth:`App.get_workflow_result`."""
    return await app.get_workflow_result(instance_id)


async def cancel_workflow(app: App, instance_id: str, reason: str = "") -> None:
    """Same as :meth:`App.cancel_workflow`."""
    await app.cancel_workflow(instance_id, reason)
