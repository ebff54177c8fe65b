"""Defining workflows: ``@romancy.workflow`` and :func:`define_workflow`."""

from __future__ import annotations

import hashlib
import inspect
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from romancy.engine.signals import RecurSuspend
from romancy.errors import ConfigurationError
from romancy.limits import check_name
from romancy.serialization import to_json, type_hints

if TYPE_CHECKING:
    from romancy.context import WorkflowContext

InputT = TypeVar("InputT")
OutputT = TypeVar("OutputT")


@dataclass(eq=False)
class Workflow(Generic[InputT, OutputT]):
    """A durable workflow: an ``async def`` taking ``(ctx)`` or ``(ctx, input)``."""

    name: str
    fn: Callable[..., Awaitable[OutputT]]
    event_handler: bool = False
    takes_input: bool = field(init=False)
    input_hint: Any = field(init=False)
    output_hint: Any = field(init=False)
    source_code: str = field(init=False)
    source_hash: str = field(init=False)

    def __post_init__(self) -> None:
        if not inspect.iscoroutinefunction(self.fn):
            raise ConfigurationError(f"workflow {self.name!r} must be an async function")
        parameters = list(inspect.signature(self.fn).parameters.values())
        if not 1 <= len(parameters) <= 2:
            raise ConfigurationError(
                f"workflow {self.name!r} must take (ctx) or (ctx, input), "
                f"not {len(parameters)} parameters"
            )
        hints = type_hints(self.fn)
        self.takes_input = len(parameters) == 2
        self.input_hint = hints.get(parameters[1].name, Any) if self.takes_input else None
        self.output_hint = hints.get("return", Any)
        try:
            self.source_code = inspect.getsource(self.fn)
        except (OSError, TypeError):
            self.source_code = ""
        self.source_hash = hashlib.sha256(
            (self.source_code or self.name).encode("utf-8")
        ).hexdigest()

    def same_definition(self, other: Workflow[Any, Any]) -> bool:
        """Whether ``other`` is this workflow again: the same function, or one with the
        same name and source (a module imported twice defines its functions twice)."""
        return self.fn is other.fn or (
            bool(self.source_code)
            and (self.name, self.source_code, self.event_handler)
            == (other.name, other.source_code, other.event_handler)
        )

    async def __call__(self, ctx: Any, input: Any = None) -> OutputT:
        """Run the body (the engine calls this; call ``start_workflow`` to start one)."""
        return await (self.fn(ctx, input) if self.takes_input else self.fn(ctx))


_REGISTRY: dict[str, Workflow[Any, Any]] = {}


def define_workflow(
    name: str, fn: Callable[..., Awaitable[OutputT]], *, event_handler: bool = False
) -> Workflow[Any, OutputT]:
    """Define a workflow named ``name`` (Go's ``DefineWorkflow``).

    A name holds one definition per process: defining a different workflow under a
    taken name raises :class:`~romancy.ConfigurationError`.
    """
    definition: Workflow[Any, OutputT] = Workflow(
        check_name(name, "workflow name"), fn, event_handler
    )
    existing = _REGISTRY.get(name)
    if existing is not None and not existing.same_definition(definition):
        raise ConfigurationError(
            f"a different workflow is already defined as {name!r} "
            f"({existing.fn.__module__}.{existing.fn.__qualname__}); workflow names are unique"
        )
    _REGISTRY[name] = definition
    return definition


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


def get_workflow(name: str) -> Workflow[Any, Any] | None:
    """A workflow defined in this process by name (Go's ``GetWorkflow``)."""
    return _REGISTRY.get(name)


def defined_workflows() -> dict[str, Workflow[Any, Any]]:
    """Every workflow defined in this process."""
    return dict(_REGISTRY)


async def recur(ctx: WorkflowContext, new_input: Any) -> typing.NoReturn:
    """Start this workflow over with ``new_input`` (Erlang-style tail recursion).

    The instance keeps its id; its history moves to ``workflow_history_archive`` and its
    compensations, timers and subscriptions are cleared, so a long-lived loop does not
    grow an unbounded history (docs/engine.md, Recur). Use as ``return await recur(ctx, x)``.
    """
    raise RecurSuspend(to_json(new_input, what=f"recur input of workflow {ctx.workflow_name!r}"))
