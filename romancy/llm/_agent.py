"""A durable agent: a conversation whose every model request and tool call is a step.

The conversation lives in an :class:`AgentContext`, plain JSON that travels in workflow
inputs and results (or in a channel message), so a chat can span workflows. Each turn
appends the user's message and the model's answers to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter
from pydantic_ai.messages import ModelMessage
from typing_extensions import Unpack

from romancy.context import WorkflowContext
from romancy.errors import InvalidValueError, RomancyError
from romancy.llm._calls import prompt_messages
from romancy.llm._options import CallOptions, LLMOptions
from romancy.llm._request import define_request, effective_options, request
from romancy.llm._response import DurableResponse, messages_from_json, messages_to_json
from romancy.llm._tools import (
    Tool,
    ToolRegistry,
    ToolResult,
    as_registry,
    execute_tool_calls,
    results_message,
)
from romancy.retry import RetryPolicy

DepsT = TypeVar("DepsT")


class ToolLoopLimitError(RomancyError):
    """The model still asked for tools after the agent's last allowed round."""


@dataclass
class AgentContext:
    """A conversation and the caller's own data (``deps``), as JSON (Go's
    ``AgentContext``).

    A workflow may take it as input and return it: ``deps`` comes back as JSON data,
    which an agent built with ``deps_type=`` turns into that type before calling
    ``build_prompt`` / ``get_tools``.
    """

    deps: Any = None
    #: The conversation in pydantic-ai's message format (JSON).
    messages: list[dict[str, Any]] = field(default_factory=list)

    def history(self) -> list[ModelMessage]:
        """The conversation as pydantic-ai messages."""
        return messages_from_json(self.messages)

    def add(self, messages: Sequence[ModelMessage]) -> None:
        """Append ``messages`` to the conversation."""
        self.messages.extend(messages_to_json(messages))

    def to_json(self) -> str:
        """This context as JSON text (Go's ``MarshalAgentContext``)."""
        return json.dumps({"deps": self.deps, "messages": self.messages})

    @classmethod
    def from_json(cls, text: str) -> AgentContext:
        """A context from :meth:`to_json`'s text (Go's ``UnmarshalAgentContext``)."""
        try:
            data = json.loads(text)
            context = cls(deps=data.get("deps"), messages=list(data.get("messages") or []))
        except (ValueError, AttributeError, TypeError) as error:
            raise InvalidValueError(f"not an AgentContext in JSON: {error}") from None
        context.history()  # the messages must be readable
        return context


class DurableAgent(Generic[DepsT]):
    """A chat agent whose model requests are recorded under ``name`` and whose tool calls
    are each their own step (Go's ``NewDurableAgent``).

    ``build_prompt(deps, message)`` may rewrite each user message (e.g. add facts from
    ``deps``); ``get_tools(deps)`` may pick the tools per conversation, else ``tools``.
    """

    def __init__(
        self,
        name: str,
        *,
        tools: ToolRegistry | Iterable[Tool] | None = None,
        build_prompt: Callable[[DepsT, str], str] | None = None,
        get_tools: Callable[[DepsT], Iterable[Tool]] | None = None,
        deps_type: type[DepsT] | None = None,
        max_iterations: int = 10,
        retry_policy: RetryPolicy | None = None,
        timeout: float | timedelta | None = None,
        **options: Unpack[CallOptions],
    ) -> None:
        if isinstance(max_iterations, bool) or not isinstance(max_iterations, int):
            raise InvalidValueError("max_iterations must be an integer")
        if max_iterations < 1:
            raise InvalidValueError(f"max_iterations must be at least 1, got {max_iterations}")
        self._activity = define_request(name, retry_policy=retry_policy, timeout=timeout)
        self.options = LLMOptions().merged(options)
        self.tools = as_registry(tools)
        self.max_iterations = max_iterations
        self._build_prompt, self._get_tools = build_prompt, get_tools
        self._deps = TypeAdapter(deps_type) if deps_type is not None else None

    @property
    def name(self) -> str:
        """The activity name its model requests are recorded under."""
        return self._activity.name

    def deps(self, context: AgentContext) -> DepsT:
        """``context.deps`` as ``deps_type`` (as it is when no type was given)."""
        value: DepsT = (
            self._deps.validate_python(context.deps) if self._deps is not None else context.deps
        )
        return value

    async def chat(
        self, ctx: WorkflowContext, context: AgentContext, message: str, **options: Any
    ) -> DurableResponse:
        """One turn: add ``message``, ask the model once, add its answer (which may hold
        tool calls the caller runs)."""
        self._add_user(context, message)
        return await self._ask(ctx, context, self._tools_for(context), options)

    async def chat_with_tool_loop(
        self,
        ctx: WorkflowContext,
        context: AgentContext,
        message: str,
        *,
        max_iterations: int | None = None,
        **options: Any,
    ) -> DurableResponse:
        """A turn that runs the tools the model asks for and asks again, until it answers
        without tool calls; each request and each tool call is a step, so a crash
        resumes the loop where it stopped. More than ``max_iterations`` requests raise
        :class:`ToolLoopLimitError`."""
        limit = self.max_iterations if max_iterations is None else max_iterations
        self._add_user(context, message)
        tools = self._tools_for(context)
        for _ in range(limit):
            response = await self._ask(ctx, context, tools, options)
            if not response.tool_calls:
                return response
            results: list[ToolResult] = await execute_tool_calls(ctx, response.tool_calls, tools)
            context.add([results_message(results)])
        raise ToolLoopLimitError(
            f"agent {self.name!r} still asked for tools after {limit} model requests"
        )

    def _add_user(self, context: AgentContext, message: str) -> None:
        if self._build_prompt is not None:
            message = self._build_prompt(self.deps(context), message)
        context.add(prompt_messages(message))

    def _tools_for(self, context: AgentContext) -> ToolRegistry:
        if self._get_tools is None:
            return self.tools
        return as_registry(self._get_tools(self.deps(context)))

    async def _ask(
        self,
        ctx: WorkflowContext,
        context: AgentContext,
        tools: ToolRegistry,
        options: dict[str, Any],
    ) -> DurableResponse:
        response = await request(
            ctx,
            self._activity,
            context.history(),
            effective_options(ctx, self.options, options),
            tools=tools.definitions(),
        )
        context.add([response.model_response])
        return response
