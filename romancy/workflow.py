"""Defining workflows: ``@romancy.workflow`` and :func:`define_workflow`."""

from __future__ import annotations

import typing
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from romancy.engine._context import WorkflowContext
from romancy.engine.definitions import (
    Workflow,
    WorkflowRef,
    define_workflow,
    defined_workflows,
    get_workflow,
)
from romancy.engine.signals import RecurSuspend
from romancy.serialization import to_json

__all__ = [
    "Workflow",
    "WorkflowRef",
    "define_workflow",
    "defined_workflows",
    "get_workflow",
    "recur",
    "workflow",
]

OutputT = TypeVar("OutputT")


@typing.overload
def workflow(fn: Callable[..., Awaitable[OutputT]], /) -> Workflow[Any, OutputT]: ...


@typing.overload
def workflow(
    *, name: str | None = None, event_handler: bool = False
) -> Callable[[Callable[..., Awaitable[OutputT]]], Workflow[Any, OutputT]]: ...


def workflow(
    fn: Callable[..., Awaitable[OutputT]] | None = None,
    /,
    *,
    name: str | None = None,
    event_handler: bool = False,
) -> Any:
    """Decorator form of :func:`define_workflow`; the name defaults to the function's."""

    def decorate(func: Callable[..., Awaitable[OutputT]]) -> Workflow[Any, OutputT]:
        return define_workflow(name or func.__name__, func, event_handler=event_handler)

    return decorate(fn) if fn is not None else decorate


async def recur(ctx: WorkflowContext, new_input: Any) -> typing.NoReturn:
    """Start this workflow over with ``new_input`` (Erlang-style tail recursion).

    The instance keeps its id; its history moves to ``workflow_history_archive`` and its
    compensations, timers and subscriptions are cleared, so a long-lived loop does not
    grow an unbounded history (docs/engine.md, Recur). Use as ``return await recur(ctx, x)``.
    """
    raise RecurSuspend(to_json(new_input, what=f"recur input of workflow {ctx.workflow_name!r}"))
