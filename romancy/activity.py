"""Activities: the steps of a workflow, recorded once and replayed from history.

An activity is an ``async def`` or a plain ``def`` (run in a worker thread) taking
``(ctx, *args, **kwargs)``. Calling it from a workflow runs it with its retry policy and
records the result; on replay the recorded result is returned without running it again.

By default an activity is *transactional*: what it does through ``ctx.session`` commits
in the same transaction as its history row (and its compensation, if it has one), so the
step and its database effects happen exactly once together.
"""

from __future__ import annotations

import typing
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from romancy import durations
from romancy.engine import definitions
from romancy.engine._context import WorkflowContext
from romancy.engine.executor import run_activity
from romancy.errors import ConfigurationError
from romancy.retry import RetryPolicy

OutputT = TypeVar("OutputT")


class Activity(definitions.ActivityDefinition[OutputT]):
    """A registered activity. Call it with ``await act(ctx, *args, **kwargs)``."""

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
        result: OutputT = await run_activity(ctx, self, args, kwargs, activity_id)
        return result

    async def compensate(self, ctx: WorkflowContext, *args: Any, **kwargs: Any) -> None:
        """Run the compensation directly (Go's ``Compensate``)."""
        if self.compensation_fn is not None:
            await definitions.call_maybe_async(self.compensation_fn, ctx, *args, **kwargs)


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
    activity: Activity[OutputT] = Activity(
        name, fn, retry_policy, durations.seconds(timeout), transactional, compensation
    )
    definitions.register_activity(activity)
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
    found = definitions.find_activity(name)
    return found if isinstance(found, Activity) else None
