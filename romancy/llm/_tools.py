"""Tools a model may call; each call runs as its own recorded activity.

A tool is a plain function (``def`` or ``async def``); its parameters, their types and
its docstring make the JSON schema the model sees (pydantic-ai builds it). A tool whose
first parameter is annotated :class:`~romancy.WorkflowContext` receives the workflow
context, so its database writes through ``ctx.session`` commit with the step's record.
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pydantic_ai
from pydantic import ValidationError
from pydantic_ai.messages import ERROR_OUTCOMES, ModelRequest, ModelRequestPart, ToolReturnPart
from pydantic_ai.tools import ToolDefinition

from romancy.activity import Activity, define_activity
from romancy.context import WorkflowContext
from romancy.errors import (
    ActivityError,
    InvalidValueError,
    RetryExhaustedError,
    TerminalError,
    describe,
)
from romancy.llm._response import ToolCall
from romancy.retry import RetryPolicy

#: What providers accept as a function name (OpenAI's rule, the strictest common one).
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: pydantic-ai's outcome of a tool that raised: sent through the provider's error channel.
_TOOL_RAISED = ERROR_OUTCOMES[0]
#: Prefix of the activity each tool runs as (``llm_tool:get_weather:1``…).
TOOL_ACTIVITY_PREFIX = "llm_tool:"


class Tool:
    """A function the model may call (Go's ``NewTool``); build it with :func:`tool`.

    ``await my_tool(ctx, **arguments)`` runs it as a step of the workflow, like the
    model's calls do.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        retry_policy: RetryPolicy | None = None,
        timeout: float | timedelta | None = None,
    ) -> None:
        if not callable(fn):
            raise InvalidValueError(f"a tool must be a function, not {type(fn).__name__}")
        takes_ctx = _takes_context(fn)
        spec = pydantic_ai.Tool(
            _without_context(fn) if takes_ctx else fn,
            takes_ctx=False,
            name=name,
            description=description,
        )
        if not _TOOL_NAME.fullmatch(spec.name):
            raise InvalidValueError(
                f"tool name {spec.name!r} must be 1 to 64 letters, digits, '_' or '-'"
            )
        schema = spec.function_schema
        if schema.positional_fields or schema.var_positional_field:
            raise InvalidValueError(
                f"tool {spec.name!r}: positional-only and *args parameters cannot be "
                "passed by name; use ordinary parameters"
            )
        self.fn = fn
        self.name: str = spec.name
        self.description: str | None = spec.description
        self.definition: ToolDefinition = spec.tool_def
        self._validator = schema.validator
        self.activity: Activity[Any] = define_activity(
            TOOL_ACTIVITY_PREFIX + self.name,
            _body(fn, takes_ctx),
            retry_policy=retry_policy,
            timeout=timeout,
        )

    def arguments(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """``given`` validated against the parameters (a pydantic ``ValidationError`` if not)."""
        validated: dict[str, Any] = self._validator.validate_python(dict(given))
        return validated

    async def __call__(self, ctx: WorkflowContext, **arguments: Any) -> Any:
        """Run the tool as a step of ``ctx``'s workflow."""
        return await self.activity(ctx, self.arguments(arguments))

    def __repr__(self) -> str:
        return f"<Tool {self.name}>"


def _takes_context(fn: Callable[..., Any]) -> bool:
    parameters = list(inspect.signature(fn).parameters.values())
    if not parameters:
        return False
    hint = typing.get_type_hints(fn).get(parameters[0].name)
    return isinstance(hint, type) and issubclass(hint, WorkflowContext)


def _without_context(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A stand-in with ``fn``'s name, docstring and signature minus the context: what the
    schema is built from."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def stand_in(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("only read for its signature")

    stand_in.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=list(signature.parameters.values())[1:]
    )
    return stand_in


def _body(fn: Callable[..., Any], takes_ctx: bool) -> Callable[..., Any]:
    """The activity function: ``(ctx, arguments)``, async or not as ``fn`` is (a plain
    function runs in a worker thread, as activities do)."""
    if inspect.iscoroutinefunction(fn):

        async def run_async(ctx: WorkflowContext, arguments: dict[str, Any]) -> Any:
            return await (fn(ctx, **arguments) if takes_ctx else fn(**arguments))

        return run_async

    def run(ctx: WorkflowContext, arguments: dict[str, Any]) -> Any:
        return fn(ctx, **arguments) if takes_ctx else fn(**arguments)

    return run


@typing.overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@typing.overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    retry_policy: RetryPolicy | None = None,
    timeout: float | timedelta | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Make ``fn`` a :class:`Tool`; as ``@tool`` or ``@tool(name=…, description=…)``.

    The description defaults to the docstring, the name to the function's.
    """
    return Tool(fn, **options) if fn is not None else (lambda f: Tool(f, **options))


class ToolRegistry:
    """Tools by name (Go's ``NewToolRegistry``)."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for item in tools:
            self.add(item)

    def add(self, item: Tool) -> None:
        """Register ``item``; a second tool of the same name is refused."""
        if not isinstance(item, Tool):
            raise InvalidValueError(f"expected a Tool (see romancy.llm.tool), not {item!r}")
        if item.name in self._tools and self._tools[item.name] is not item:
            raise InvalidValueError(f"a different tool named {item.name!r} is registered")
        self._tools[item.name] = item

    def get(self, name: str) -> Tool | None:
        """The tool named ``name``, if registered."""
        return self._tools.get(name)

    def definitions(self) -> list[ToolDefinition]:
        """What the model is told about each tool."""
        return [t.definition for t in self._tools.values()]

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools


def as_registry(tools: ToolRegistry | Iterable[Tool] | None) -> ToolRegistry:
    """``tools`` as a registry (none: an empty one)."""
    return tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools or ())


@dataclass
class ToolResult:
    """The outcome of one tool call: its value, or the error the model is told."""

    call: ToolCall
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """The tool ran and returned a value."""
        return self.error is None


async def execute_tool_calls(
    ctx: WorkflowContext,
    calls: Sequence[ToolCall],
    tools: ToolRegistry | Iterable[Tool],
) -> list[ToolResult]:
    """Run the model's tool calls one after another, each as its own step (Go's
    ``ExecuteToolCalls``).

    An unknown tool, arguments that do not fit, or a tool that failed on every attempt
    becomes an error result for the model to read, not an exception; on replay each
    call returns (or fails with) what it recorded.
    """
    registry = as_registry(tools)
    results = []
    for call in calls:
        found = registry.get(call.name)
        if found is None:
            known = ", ".join(sorted(t.name for t in registry)) or "none"
            results.append(ToolResult(call, error=f"unknown tool {call.name!r}; tools: {known}"))
            continue
        try:
            arguments = found.arguments(call.arguments)
        except ValidationError as error:
            results.append(ToolResult(call, error=f"invalid arguments for {call.name}: {error}"))
            continue
        try:
            results.append(ToolResult(call, value=await found.activity(ctx, arguments)))
        except (RetryExhaustedError, TerminalError) as error:
            results.append(ToolResult(call, error=_describe(error)))
    return results


def _describe(error: BaseException) -> str:
    """The tool's own error, worded alike when it ran and when it is replayed."""
    cause = error.__cause__ or error
    if isinstance(cause, ActivityError):
        return f"{cause.error_type}: {cause.message}"
    return describe(cause)


def results_message(results: Sequence[ToolResult]) -> ModelRequest:
    """The request that hands tool results back to the model."""
    parts: list[ModelRequestPart] = [
        ToolReturnPart(
            r.call.name,
            r.value if r.ok else r.error,
            tool_call_id=r.call.id,
            outcome="success" if r.ok else _TOOL_RAISED,
        )
        for r in results
    ]
    return ModelRequest(parts=parts)
