"""Workflow and activity definitions, and the process-wide registries that hold them.

The public decorators (:mod:`romancy.workflow`, :mod:`romancy.activity`) build these;
the engine runs them, and finds compensations by activity name here.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeAlias, TypeVar

from romancy.errors import ConfigurationError
from romancy.limits import check_name
from romancy.retry import RetryPolicy
from romancy.serialization import from_json, to_json, type_hints

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


#: A workflow, or the name it is registered under (what starting an instance takes).
WorkflowRef: TypeAlias = "Workflow[Any, Any] | str"


class WorkflowRegistry(dict[str, Workflow[Any, Any]]):
    """Workflows runnable on one worker, by name."""

    def register(self, workflow: Workflow[Any, Any]) -> None:
        """Make ``workflow`` runnable (and resumable) here."""
        existing = self.get(workflow.name)
        if existing is not None and not existing.same_definition(workflow):
            # Instances of the name would run one definition or the other depending on
            # which call registered last: refuse instead of guessing.
            raise ConfigurationError(
                f"another workflow is already registered as {workflow.name!r}; give this "
                "one a different name (a new version of the code belongs in a new deploy)"
            )
        self[workflow.name] = workflow


_WORKFLOWS: dict[str, Workflow[Any, Any]] = {}


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
    existing = _WORKFLOWS.get(name)
    if existing is not None and not existing.same_definition(definition):
        raise ConfigurationError(
            f"a different workflow is already defined as {name!r} "
            f"({existing.fn.__module__}.{existing.fn.__qualname__}); workflow names are unique"
        )
    _WORKFLOWS[name] = definition
    return definition


def get_workflow(name: str) -> Workflow[Any, Any] | None:
    """A workflow defined in this process by name (Go's ``GetWorkflow``)."""
    return _WORKFLOWS.get(name)


def defined_workflows() -> dict[str, Workflow[Any, Any]]:
    """Every workflow defined in this process."""
    return dict(_WORKFLOWS)


@dataclass(eq=False)
class ActivityDefinition(Generic[OutputT]):
    """An activity's function and options (the public ``Activity`` adds calling it)."""

    name: str
    fn: Callable[..., OutputT | Awaitable[OutputT]]
    retry_policy: RetryPolicy | None = None
    timeout: float | None = None
    transactional: bool = True
    compensation_fn: Callable[..., Any] | None = None
    is_async: bool = field(init=False)
    output_hint: Any = field(init=False)

    def __post_init__(self) -> None:
        self.is_async = inspect.iscoroutinefunction(self.fn)
        self.output_hint = type_hints(self.fn).get("return", Any)

    @property
    def has_compensation(self) -> bool:
        """Whether a compensation is attached."""
        return self.compensation_fn is not None


_ACTIVITIES: dict[str, ActivityDefinition[Any]] = {}


def register_activity(activity: ActivityDefinition[Any]) -> None:
    """Make ``activity`` findable by name (its compensation runs after a restart)."""
    _ACTIVITIES[activity.name] = activity


def find_activity(name: str) -> ActivityDefinition[Any] | None:
    """The activity defined in this process as ``name``."""
    return _ACTIVITIES.get(name)


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
