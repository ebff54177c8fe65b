"""Durable LLM calls for romancy workflows (``pip install 'romancy[llm]'``).

Every model request is one recorded activity and every tool call another, so a workflow
that crashed mid-conversation resumes without asking the model again or re-running a
tool, and replay never sends a request. Built on pydantic-ai: any model it can resolve
(``"openai:gpt-4o"``, ``"anthropic:claude-…"``…) works, and ``base_url=`` reaches any
OpenAI-compatible server (Ollama, vLLM, LM Studio). See docs/llm.md.
"""

from romancy.llm._agent import AgentContext, DurableAgent, ToolLoopLimitError
from romancy.llm._calls import (
    DurableCall,
    call,
    call_messages,
    call_messages_parse,
    call_parse,
    define_durable_call,
)
from romancy.llm._options import (
    CallOptions,
    LLMOptions,
    clear_app_defaults,
    get_app_defaults,
    set_app_defaults,
)
from romancy.llm._request import MalformedAnswerError
from romancy.llm._response import (
    DurableResponse,
    MessageLike,
    ToolCall,
    Usage,
    assistant_message,
    messages_from_json,
    messages_to_json,
    system_message,
    user_message,
)
from romancy.llm._tools import Tool, ToolRegistry, ToolResult, execute_tool_calls, tool

__all__ = [
    "AgentContext",
    "CallOptions",
    "DurableAgent",
    "DurableCall",
    "DurableResponse",
    "LLMOptions",
    "MalformedAnswerError",
    "MessageLike",
    "Tool",
    "ToolCall",
    "ToolLoopLimitError",
    "ToolRegistry",
    "ToolResult",
    "Usage",
    "assistant_message",
    "call",
    "call_messages",
    "call_messages_parse",
    "call_parse",
    "clear_app_defaults",
    "define_durable_call",
    "execute_tool_calls",
    "get_app_defaults",
    "messages_from_json",
    "messages_to_json",
    "set_app_defaults",
    "system_message",
    "tool",
    "user_message",
]
