"""What a model request returns, and conversations as JSON.

A :class:`DurableResponse` is what the request's step records: plain JSON fields for
workflow code (text, tool calls, usage…) plus the model's whole answer in pydantic-ai's
own message format, so a conversation can continue from it after a replay. Conversations
are kept as JSON with pydantic-ai's ``ModelMessagesTypeAdapter``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias, TypeVar

from pydantic import TypeAdapter
from pydantic_ai.messages import (
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelRequest,
    ModelRequestPart,
    ModelResponse,
    SystemPromptPart,
    TextPart,
    UserPromptPart,
)

from romancy.errors import InvalidValueError, SerializationError
from romancy.limits import check_text

T = TypeVar("T")


@dataclass
class Usage:
    """Tokens one request used."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input and output together."""
        return self.input_tokens + self.output_tokens


@dataclass
class ToolCall:
    """A tool the model asked to run: its call id, name and JSON arguments."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class DurableResponse:
    """One model answer, as recorded (Go's ``DurableResponse``)."""

    text: str
    model: str
    provider: str | None
    usage: Usage
    tool_calls: list[ToolCall]
    finish_reason: str | None
    #: The structured answer as JSON (``call_parse``), else ``None``.
    structured: Any = None
    #: The answer in pydantic-ai's message format (JSON).
    message: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, response: ModelResponse) -> DurableResponse:
        """The recorded form of a pydantic-ai response."""
        return cls(
            text=response.text or "",
            model=response.model_name or "",
            provider=response.provider_name,
            usage=Usage(response.usage.input_tokens, response.usage.output_tokens),
            tool_calls=[
                ToolCall(part.tool_call_id, part.tool_name, part.args_as_dict())
                for part in response.tool_calls
            ],
            finish_reason=response.finish_reason,
            message=messages_to_json([response])[0],
        )

    @property
    def model_response(self) -> ModelResponse:
        """The answer as a pydantic-ai ``ModelResponse``."""
        (response,) = messages_from_json([self.message])
        assert isinstance(response, ModelResponse)
        return response

    def parse(self, output_type: type[T]) -> T:
        """The structured answer as ``output_type`` (Go's ``ParseStructured``)."""
        if self.structured is None:
            raise SerializationError("this response has no structured answer")
        try:
            value: T = TypeAdapter(output_type).validate_python(self.structured)
        except ValueError as error:
            raise SerializationError(
                f"the structured answer is not a {getattr(output_type, '__name__', output_type)}: "
                f"{error}"
            ) from None
        return value


#: What a conversation may be given as: pydantic-ai messages, ``{"role", "content"}``
#: mappings (roles ``system``, ``user``, ``assistant``), or earlier responses.
MessageLike: TypeAlias = ModelMessage | Mapping[str, Any] | DurableResponse


def messages_to_json(messages: Sequence[ModelMessage]) -> list[dict[str, Any]]:
    """Messages as JSON (pydantic-ai's own layout)."""
    dumped: list[dict[str, Any]] = ModelMessagesTypeAdapter.dump_python(list(messages), mode="json")
    return dumped


def messages_from_json(data: Sequence[Mapping[str, Any]]) -> list[ModelMessage]:
    """Messages from the JSON :func:`messages_to_json` wrote."""
    try:
        return ModelMessagesTypeAdapter.validate_python(list(data))
    except ValueError as error:
        raise SerializationError(f"stored messages are not pydantic-ai messages: {error}") from None


def user_message(text: str) -> dict[str, str]:
    """A user turn (Go's ``UserMessage``)."""
    return {"role": "user", "content": text}


def system_message(text: str) -> dict[str, str]:
    """A system instruction (Go's ``SystemMessage``)."""
    return {"role": "system", "content": text}


def assistant_message(text: str) -> dict[str, str]:
    """An earlier answer of the model (Go's ``AssistantMessage``)."""
    return {"role": "assistant", "content": text}


def to_model_messages(items: Iterable[MessageLike]) -> list[ModelMessage]:
    """A conversation as pydantic-ai messages; adjacent request parts share one request."""
    out: list[ModelMessage] = []
    for n, item in enumerate(items):
        message = _one(item, f"message {n}")
        last = out[-1] if out else None
        if isinstance(message, ModelRequest) and isinstance(last, ModelRequest):
            out[-1] = replace(last, parts=[*last.parts, *message.parts])
        else:
            out.append(message)
    if not out:
        raise InvalidValueError("messages must not be empty")
    return out


def _one(item: MessageLike, what: str) -> ModelMessage:
    if isinstance(item, ModelRequest | ModelResponse):
        return item
    if isinstance(item, DurableResponse):
        return item.model_response
    if not isinstance(item, Mapping):
        raise InvalidValueError(
            f"{what} must be a pydantic-ai message, a DurableResponse or a "
            f"{{'role', 'content'}} mapping, not {type(item).__name__}"
        )
    role, content = item.get("role"), item.get("content")
    content = check_text(content, f"{what} content", max_bytes=None)
    part: ModelRequestPart
    if role == "assistant":
        return ModelResponse(parts=[TextPart(content)])
    if role == "user":
        part = UserPromptPart(content)
    elif role == "system":
        part = SystemPromptPart(content)
    else:
        raise InvalidValueError(f"{what}: role must be system, user or assistant, got {role!r}")
    return ModelRequest(parts=[part])


def with_system(messages: list[ModelMessage], system: str | None) -> list[ModelMessage]:
    """``messages`` with ``system`` leading the first request, unless it already does."""
    if not system:
        return messages
    first = messages[0] if messages else None
    if not isinstance(first, ModelRequest):
        return [ModelRequest(parts=[SystemPromptPart(system)]), *messages]
    if any(isinstance(p, SystemPromptPart) and p.content == system for p in first.parts):
        return messages
    return [replace(first, parts=[SystemPromptPart(system), *first.parts]), *messages[1:]]
