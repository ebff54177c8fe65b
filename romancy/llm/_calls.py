"""The durable calls of workflow code: one model request each, recorded as a step.

``call`` / ``call_messages`` return a :class:`DurableResponse`; ``call_parse`` /
``call_messages_parse`` return the answer as a dataclass, a pydantic model or any type
pydantic validates. :func:`define_durable_call` names a reusable call with its own
options and its own activity name (Go's ``DefineDurableCall``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from pydantic_ai.messages import ModelMessage
from typing_extensions import Unpack

from romancy.activity import Activity
from romancy.context import WorkflowContext
from romancy.limits import check_text
from romancy.llm._options import CallOptions, LLMOptions
from romancy.llm._request import (
    CALL,
    CALL_MESSAGES,
    CALL_MESSAGES_PARSE,
    CALL_PARSE,
    define_request,
    effective_options,
    request,
)
from romancy.llm._response import DurableResponse, MessageLike, to_model_messages, user_message
from romancy.llm._tools import Tool, ToolRegistry, as_registry
from romancy.retry import RetryPolicy

T = TypeVar("T")


def prompt_messages(prompt: str) -> list[ModelMessage]:
    """A one-turn conversation (the prompt checked)."""
    check_text(prompt, "prompt", max_bytes=None)
    return to_model_messages([user_message(prompt)])


class DurableCall:
    """A named model call with its own options (Go's ``DefineDurableCall``).

    Its requests are recorded under its name (``summarize:1``, ``summarize:2``…).
    """

    def __init__(
        self,
        activity: Activity[DurableResponse],
        options: LLMOptions,
        tools: ToolRegistry,
    ) -> None:
        self._activity, self.options, self.tools = activity, options, tools

    @property
    def name(self) -> str:
        """The activity name its requests are recorded under."""
        return self._activity.name

    async def execute(
        self,
        ctx: WorkflowContext,
        prompt: str,
        *,
        activity_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> DurableResponse:
        """Ask ``prompt``; ``options`` override the call's own for this request."""
        messages = prompt_messages(prompt)
        return await self._send(ctx, messages, dict(options), self.tools, None, activity_id)

    async def execute_parse(
        self,
        ctx: WorkflowContext,
        prompt: str,
        output_type: type[T],
        *,
        activity_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> T:
        """Ask ``prompt`` for an answer of type ``output_type``."""
        messages = prompt_messages(prompt)
        return await self._parse(ctx, messages, output_type, dict(options), activity_id)

    async def execute_messages(
        self,
        ctx: WorkflowContext,
        messages: Iterable[MessageLike],
        *,
        activity_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> DurableResponse:
        """Continue the conversation ``messages``."""
        conversation = to_model_messages(messages)
        return await self._send(ctx, conversation, dict(options), self.tools, None, activity_id)

    async def execute_messages_parse(
        self,
        ctx: WorkflowContext,
        messages: Iterable[MessageLike],
        output_type: type[T],
        *,
        activity_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> T:
        """Continue ``messages`` for an answer of type ``output_type``."""
        conversation = to_model_messages(messages)
        return await self._parse(ctx, conversation, output_type, dict(options), activity_id)

    async def _parse(
        self,
        ctx: WorkflowContext,
        messages: Sequence[ModelMessage],
        output_type: type[T],
        options: dict[str, Any],
        activity_id: str | None,
    ) -> T:
        response = await self._send(
            ctx, messages, options, ToolRegistry(), output_type, activity_id
        )
        return response.parse(output_type)

    async def _send(
        self,
        ctx: WorkflowContext,
        messages: Sequence[ModelMessage],
        options: dict[str, Any],
        tools: ToolRegistry,
        output_type: Any,
        activity_id: str | None,
    ) -> DurableResponse:
        return await request(
            ctx,
            self._activity,
            messages,
            effective_options(ctx, self.options, options),
            tools=tools.definitions(),
            output_type=output_type,
            activity_id=activity_id,
        )


def define_durable_call(
    name: str,
    *,
    tools: ToolRegistry | Iterable[Tool] | None = None,
    retry_policy: RetryPolicy | None = None,
    timeout: float | timedelta | None = None,
    **options: Unpack[CallOptions],
) -> DurableCall:
    """A reusable call named ``name`` (its activity name) with default ``options``."""
    return DurableCall(
        define_request(name, retry_policy=retry_policy, timeout=timeout),
        LLMOptions().merged(options),
        as_registry(tools),
    )


_CALL = DurableCall(CALL, LLMOptions(), ToolRegistry())
_CALL_PARSE = DurableCall(CALL_PARSE, LLMOptions(), ToolRegistry())
_CALL_MESSAGES = DurableCall(CALL_MESSAGES, LLMOptions(), ToolRegistry())
_CALL_MESSAGES_PARSE = DurableCall(CALL_MESSAGES_PARSE, LLMOptions(), ToolRegistry())


async def call(
    ctx: WorkflowContext,
    prompt: str,
    *,
    tools: ToolRegistry | Iterable[Tool] | None = None,
    activity_id: str | None = None,
    **options: Unpack[CallOptions],
) -> DurableResponse:
    """Ask the model ``prompt`` as one recorded step (Go's ``llm.Call``).

    With ``tools`` the model may answer with tool calls (``response.tool_calls``); run
    them with :func:`execute_tool_calls`, or let :class:`DurableAgent` loop.
    """
    messages = prompt_messages(prompt)
    return await _CALL._send(ctx, messages, dict(options), as_registry(tools), None, activity_id)


async def call_messages(
    ctx: WorkflowContext,
    messages: Iterable[MessageLike],
    *,
    tools: ToolRegistry | Iterable[Tool] | None = None,
    activity_id: str | None = None,
    **options: Unpack[CallOptions],
) -> DurableResponse:
    """Send a whole conversation as one recorded step (Go's ``CallMessages``)."""
    conversation = to_model_messages(messages)
    registry = as_registry(tools)
    return await _CALL_MESSAGES._send(ctx, conversation, dict(options), registry, None, activity_id)


async def call_parse(
    ctx: WorkflowContext,
    prompt: str,
    output_type: type[T],
    *,
    activity_id: str | None = None,
    **options: Unpack[CallOptions],
) -> T:
    """Ask ``prompt`` for an answer of type ``output_type`` (a dataclass, a pydantic
    model…), recorded as one step (Go's ``CallParse``)."""
    messages = prompt_messages(prompt)
    return await _CALL_PARSE._parse(ctx, messages, output_type, dict(options), activity_id)


async def call_messages_parse(
    ctx: WorkflowContext,
    messages: Iterable[MessageLike],
    output_type: type[T],
    *,
    activity_id: str | None = None,
    **options: Unpack[CallOptions],
) -> T:
    """Continue ``messages`` for an answer of type ``output_type`` (Go's
    ``CallMessagesParse``)."""
    conversation = to_model_messages(messages)
    return await _CALL_MESSAGES_PARSE._parse(
        ctx, conversation, output_type, dict(options), activity_id
    )
