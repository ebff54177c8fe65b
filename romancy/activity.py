"""Activities: the steps of a workflow, recorded once and replayed from history.

An activity is an ``async def`` or a plain ``def`` (run in a worker thread) taking
``(ctx, *args, **kwargs)``. Calling it from a workflow runs it with its retry policy and
records the result; on replay the recorded result is returned without running it again.

By default an activity is *transactional*: what it does through ``ctx.session`` commits
in the same transaction as its history row (and its compensation, if it has one), so the
step and its database effects happen exactly once together.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError

from romancy import hooks as h
from romancy.engine.session import ActivitySession, activity_scope
from romancy.engine.signals import LostOwnership
from romancy.errors import (
    ActivityError,
    ConfigurationError,
    NonDeterminismError,
    RetryExhaustedError,
    SerializationError,
    TerminalError,
    is_terminal_error,
)
from romancy.retry import DEFAULT_RETRY_POLICY, RetryPolicy
from romancy.serialization import from_json, to_json, type_hints
from romancy.storage import HistoryRecord, Transaction
from romancy.wire import history as wire

if TYPE_CHECKING:
    from romancy.context import WorkflowContext

OutputT = TypeVar("OutputT")


@dataclass(eq=False)
class Activity(Generic[OutputT]):
    """A registered activity. Call it with ``await act(ctx, *args, **kwargs)``."""

    name: str
    fn: Callable[..., OutputT | Awaitable[OutputT]]
    retry_policy: RetryPolicy | None = None
    timeout: float | None = None
    transactional: bool = True
    compensation_fn: Callable[..., Any] | None = None
    is_async: bool = field(init=False)
    output_hint: Any = field(init=False)

    def __post_init__(self) -> None:
        if isinstance(self.timeout, timedelta):
            self.timeout = self.timeout.total_seconds()
        self.is_async = inspect.iscoroutinefunction(self.fn)
        self.output_hint = type_hints(self.fn).get("return", Any)

    @property
    def has_compensation(self) -> bool:
        """Whether a compensation is attached."""
        return self.compensation_fn is not None

    def compensation(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator attaching ``fn(ctx, *args, **kwargs)`` as this activity's compensation.

        It receives the same arguments the activity received, and runs (in reverse order
        of registration) when the workflow fails or is cancelled.
        """
        self.compensation_fn = fn
        return fn

    async def __call__(
        self, ctx: WorkflowContext, *args: Any, activity_id: str | None = None, **kwargs: Any
    ) -> OutputT:
        """Run (or replay) this activity as a step of the workflow ``ctx`` belongs to.

        ``activity_id`` is required when the same workflow runs activities concurrently
        (e.g. with ``asyncio.gather``), so each keeps a stable id across replays.
        """
        result: OutputT = await _Step(ctx, self, args, kwargs, activity_id).run()
        return result

    async def compensate(self, ctx: WorkflowContext, *args: Any, **kwargs: Any) -> None:
        """Run the compensation directly (Go's ``Compensate``)."""
        if self.compensation_fn is not None:
            await call_maybe_async(self.compensation_fn, ctx, *args, **kwargs)


_REGISTRY: dict[str, Activity[Any]] = {}


def define_activity(
    name: str,
    fn: Callable[..., OutputT | Awaitable[OutputT]],
    *,
    retry_policy: RetryPolicy | None = None,
    timeout: float | timedelta | None = None,
    compensation: Callable[..., Any] | None = None,
    transactional: bool = True,
) -> Activity[OutputT]:
    """Define an activity (Go's ``DefineActivity`` with its options as keywords)."""
    if not callable(fn):
        raise ConfigurationError(f"activity {name!r} must be a function")
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
    activity: Activity[OutputT] = Activity(
        name, fn, retry_policy, seconds, transactional, compensation
    )
    _REGISTRY[name] = activity
    return activity


@typing.overload
def activity(fn: Callable[..., Awaitable[OutputT]], /) -> Activity[OutputT]: ...


@typing.overload
def activity(fn: Callable[..., OutputT], /) -> Activity[OutputT]: ...


@typing.overload
def activity(
    *,
    name: str | None = None,
    retry_policy: RetryPolicy | None = None,
    timeout: float | timedelta | None = None,
    compensation: Callable[..., Any] | None = None,
    transactional: bool = True,
) -> Callable[[Callable[..., Any]], Activity[Any]]: ...


def activity(
    fn: Callable[..., Any] | None = None, /, *, name: str | None = None, **options: Any
) -> Any:
    """Decorator form of :func:`define_activity`; the name defaults to the function's."""

    def decorate(func: Callable[..., Any]) -> Activity[Any]:
        return define_activity(name or func.__name__, func, **options)

    return decorate(fn) if fn is not None else decorate


def get_activity(name: str) -> Activity[Any] | None:
    """An activity defined in this process, by name (compensations are found this way)."""
    return _REGISTRY.get(name)


async def call_maybe_async(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Await an async function, or run a plain one in a worker thread."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args, **kwargs)
    return await asyncio.to_thread(fn, *args, **kwargs)


def encode_arguments(args: tuple[Any, ...], kwargs: dict[str, Any], what: str) -> dict[str, Any]:
    """An activity's arguments as stored with its compensation."""
    return {"args": to_json(list(args), what=what), "kwargs": to_json(kwargs, what=what)}


def decode_arguments(
    fn: Callable[..., Any], stored: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """Arguments stored by :func:`encode_arguments`, typed after ``fn``'s parameters."""
    signature = inspect.signature(fn)
    hints = type_hints(fn)
    bound = signature.bind(None, *stored.get("args", []), **stored.get("kwargs", {}))
    for name, value in list(bound.arguments.items())[1:]:  # the first is ctx
        kind, hint = signature.parameters[name].kind, hints.get(name, Any)
        if kind is inspect.Parameter.VAR_POSITIONAL:
            bound.arguments[name] = tuple(from_json(v, hint) for v in value)
        elif kind is inspect.Parameter.VAR_KEYWORD:
            bound.arguments[name] = {k: from_json(v, hint) for k, v in value.items()}
        else:
            bound.arguments[name] = from_json(value, hint)
    return list(bound.args[1:]), dict(bound.kwargs)


class _Step:
    """One call of an activity inside a workflow."""

    def __init__(
        self,
        ctx: WorkflowContext,
        activity: Activity[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        activity_id: str | None,
    ) -> None:
        self.ctx, self.activity, self.args, self.kwargs = ctx, activity, args, kwargs
        self.explicit_id = activity_id is not None
        self.activity_id = activity_id or ctx.generate_activity_id(activity.name)
        self.what = f"activity {activity.name!r} in workflow {ctx.workflow_name!r}"

    @property
    def _input(self) -> Any:
        return self.args[0] if len(self.args) == 1 and not self.kwargs else (self.args, self.kwargs)

    def _info(self, cls: type[Any], **fields: Any) -> Any:
        return cls(
            instance_id=self.ctx.instance_id,
            workflow_name=self.ctx.workflow_name,
            activity_id=self.activity_id,
            activity_name=self.activity.name,
            **fields,
        )

    async def run(self) -> Any:
        ctx, log = self.ctx, self.ctx.log
        ctx.claim_activity_id(self.activity_id)
        recorded = log.take(self.activity_id)
        if recorded is not None:
            return await self._replay(recorded)
        if not self.explicit_id:
            log.ensure_new_step_allowed(self.activity_id, ctx.workflow_name)
        await h.call_hook(
            ctx.hooks,
            "on_activity_start",
            self._info(h.ActivityStartInfo, input_data=self._input, is_replay=False),
        )
        log.new_activities += 1
        return await self._execute()

    async def _replay(self, record: HistoryRecord) -> Any:
        outcome = wire.read_step(record)
        if outcome.activity_name not in (None, self.activity.name):
            raise NonDeterminismError(
                f"workflow {self.ctx.workflow_name!r}: history records activity "
                f"{outcome.activity_name!r} under id {self.activity_id!r}, but the code now "
                f"calls {self.activity.name!r} there"
            )
        hooks = self.ctx.hooks
        await h.call_hook(
            hooks,
            "on_activity_start",
            self._info(h.ActivityStartInfo, input_data=self._input, is_replay=True),
        )
        if outcome.kind == "error":
            cause = ActivityError(outcome.error_type, outcome.error_message)
            if outcome.terminal:
                raise TerminalError(cause)
            raise RetryExhaustedError(self.activity.name, outcome.attempts, cause)
        result = from_json(outcome.result, self.activity.output_hint, what=f"result of {self.what}")
        await h.call_hook(
            hooks, "on_activity_cache_hit", self._info(h.ActivityCacheHitInfo, cached_result=result)
        )
        return result

    async def _execute(self) -> Any:
        activity, ctx = self.activity, self.ctx
        policy = (
            activity.retry_policy or ctx.app.config.default_retry_policy or DEFAULT_RETRY_POLICY
        )
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            session = ActivitySession(ctx.storage)
            with activity_scope(session if activity.transactional else None):
                try:
                    result = await self._attempt()
                    encoded = to_json(result, what=f"result of {self.what}")
                except (asyncio.CancelledError, LostOwnership):
                    await session.rollback()
                    raise
                except Exception as error:
                    await session.rollback()
                    terminal = is_terminal_error(error) or isinstance(error, SerializationError)
                    if terminal or not policy.should_retry(attempt, error):
                        failure = await self._fail(error, attempt, started, terminal)
                        if failure is error:
                            raise
                        raise failure from error
                    delay = policy.delay(attempt)
                    await h.call_hook(
                        ctx.hooks,
                        "on_activity_retry",
                        self._info(
                            h.ActivityRetryInfo,
                            attempt=attempt,
                            max_attempts=policy.max_attempts,
                            next_delay=timedelta(seconds=delay),
                            error=error,
                        ),
                    )
                    await asyncio.sleep(delay)
                    continue
                await self._record(session, encoded)
            await h.call_hook(
                ctx.hooks,
                "on_activity_complete",
                self._info(
                    h.ActivityCompleteInfo,
                    output_data=result,
                    duration=timedelta(seconds=time.monotonic() - started),
                    is_replay=False,
                ),
            )
            return from_json(encoded, activity.output_hint, what=f"result of {self.what}")

    async def _attempt(self) -> Any:
        call = call_maybe_async(self.activity.fn, self.ctx, *self.args, **self.kwargs)
        if self.activity.timeout is None:
            return await call
        try:
            return await asyncio.wait_for(call, self.activity.timeout)
        except TimeoutError:
            raise TimeoutError(
                f"activity {self.activity.name!r} exceeded its {self.activity.timeout:g} s timeout"
            ) from None

    async def _record(self, session: ActivitySession, encoded: Any) -> None:
        """History row (and compensation) in the step's transaction; one commit."""
        storage, ctx = self.ctx.storage, self.ctx
        compensation = (
            encode_arguments(self.args, self.kwargs, f"arguments of {self.what}")
            if self.activity.has_compensation
            else None
        )

        async def write(tx: Transaction | None) -> None:
            await storage.append_history(
                ctx.instance_id,
                self.activity_id,
                wire.ACTIVITY_COMPLETED,
                wire.activity_completed(self.activity.name, encoded),
                tx=tx,
            )
            if compensation is not None:
                await storage.add_compensation(
                    ctx.instance_id,
                    self.activity_id,
                    self.activity.name,
                    wire.dump(compensation),
                    tx=tx,
                )

        try:
            if session.started or compensation is not None:
                async with session.commit_scope() as tx:
                    await write(tx)
            else:
                await write(None)  # one statement: no transaction needed
        except IntegrityError as exc:
            if storage.dialect.is_unique_violation(exc):
                raise LostOwnership(self.activity_id) from exc
            raise

    async def _fail(
        self, error: Exception, attempts: int, started: float, terminal: bool
    ) -> Exception:
        """Record the failure (so replay raises it again) and build what the workflow sees."""
        ctx = self.ctx
        recorded = await ctx.storage.append_history(
            ctx.instance_id,
            self.activity_id,
            wire.ACTIVITY_FAILED,
            wire.activity_failed(self.activity.name, error, terminal=terminal, attempts=attempts),
            ignore_duplicate=True,
        )
        if not recorded:
            raise LostOwnership(self.activity_id)
        await h.call_hook(
            ctx.hooks,
            "on_activity_failed",
            self._info(
                h.ActivityFailedInfo,
                error=error,
                duration=timedelta(seconds=time.monotonic() - started),
                attempt=attempts,
            ),
        )
        if terminal:
            return error if isinstance(error, TerminalError) else TerminalError(error)
        return RetryExhaustedError(self.activity.name, attempts, error)
