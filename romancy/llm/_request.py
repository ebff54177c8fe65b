"""One model request as one recorded activity.

The activity sends the conversation to the model and records a :class:`DurableResponse`
(JSON). When the workflow replays, the activity machinery hands back the recorded
response and the model is not asked again. For a structured answer the request offers a
single output tool whose parameters are the wanted type's JSON schema; the arguments the
model calls it with are validated inside the step, so a malformed answer is a failed
attempt (retried by the activity's policy) rather than a recorded success.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_ai.direct import model_request
from pydantic_ai.exceptions import ModelRequestRejectedError, UserError
from pydantic_ai.messages import ModelMessage
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.tools import ToolDefinition

from romancy.activity import Activity, define_activity
from romancy.context import WorkflowContext
from romancy.errors import ConfigurationError, TerminalError
from romancy.limits import check_name
from romancy.llm._models import model_settings, resolve_model
from romancy.llm._options import LLMOptions, get_app_defaults
from romancy.llm._response import DurableResponse, with_system
from romancy.retry import RetryPolicy

#: The output tool of a structured request (pydantic-ai's own name for it).
OUTPUT_TOOL = "final_result"
#: Where a structured answer that is not a JSON object travels inside the tool's arguments.
_WRAPPED = "result"


class MalformedAnswerError(ValueError):
    """The model's structured answer does not fit the requested type (retried)."""


async def _send(
    ctx: WorkflowContext,
    messages: list[ModelMessage],
    options: LLMOptions,
    tools: list[ToolDefinition],
    output_type: Any,
) -> DurableResponse:
    """The activity body: one request to the model."""
    try:
        model = resolve_model(options)
    except ConfigurationError as error:
        raise TerminalError(error) from error
    parameters = ModelRequestParameters(function_tools=tools)
    adapter = TypeAdapter(output_type) if output_type is not None else None
    if adapter is not None:
        parameters = ModelRequestParameters(
            output_mode="tool",
            output_tools=[_output_tool(adapter)],
            allow_text_output=False,
        )
    try:
        response = await model_request(
            model,
            with_system(messages, options.system),
            model_settings=model_settings(options),
            model_request_parameters=parameters,
        )
    except (ModelRequestRejectedError, UserError) as error:
        raise TerminalError(error) from error  # the same request would be refused again
    result = DurableResponse.of(response)
    if adapter is not None:
        result.structured = _structured(result, adapter)
    return result


def _output_tool(adapter: TypeAdapter[Any]) -> ToolDefinition:
    schema = adapter.json_schema()
    if schema.get("type") != "object":
        schema = {"type": "object", "properties": {_WRAPPED: schema}, "required": [_WRAPPED]}
    return ToolDefinition(
        name=OUTPUT_TOOL,
        parameters_json_schema=schema,
        description=schema.get("description") or "The final answer.",
        kind="output",
    )


def _structured(result: DurableResponse, adapter: TypeAdapter[Any]) -> Any:
    """The validated answer as JSON, from the model's call of the output tool."""
    call = next((c for c in result.tool_calls if c.name == OUTPUT_TOOL), None)
    if call is None:
        raise MalformedAnswerError("the model answered without calling the output tool")
    answer: Any = call.arguments
    if adapter.json_schema().get("type") != "object":
        answer = call.arguments.get(_WRAPPED)
    try:
        return adapter.dump_python(adapter.validate_python(answer), mode="json")
    except ValidationError as error:
        raise MalformedAnswerError(f"the structured answer does not fit: {error}") from None


def define_request(
    name: str,
    *,
    retry_policy: RetryPolicy | None = None,
    timeout: float | timedelta | None = None,
) -> Activity[DurableResponse]:
    """An activity named ``name`` whose calls are model requests."""
    return define_activity(
        check_name(name, "LLM call name"), _send, retry_policy=retry_policy, timeout=timeout
    )


#: The activities of the module-level calls (Go's activity names).
CALL = define_request("llm_call")
CALL_PARSE = define_request("llm_call_parse")
CALL_MESSAGES = define_request("llm_call_messages")
CALL_MESSAGES_PARSE = define_request("llm_call_messages_parse")


def effective_options(
    ctx: WorkflowContext, base: LLMOptions, options: dict[str, Any]
) -> LLMOptions:
    """The App's defaults, then ``base``, then the call's own ``options`` (all checked)."""
    defaults = get_app_defaults(ctx.app) if ctx.app is not None else LLMOptions()
    given = {k: getattr(base, k) for k in base.__dataclass_fields__}
    return defaults.merged(given).merged(options)


async def request(
    ctx: WorkflowContext,
    activity: Activity[DurableResponse],
    messages: Sequence[ModelMessage],
    options: LLMOptions,
    *,
    tools: Sequence[ToolDefinition] = (),
    output_type: Any = None,
    activity_id: str | None = None,
) -> DurableResponse:
    """Run (or replay) one model request as a step of ``ctx``'s workflow.

    Outside a replay the model is resolved first, so a missing provider package or key
    fails in workflow code before a step is taken.
    """
    if not ctx.is_replaying:
        resolve_model(options)
    return await activity(
        ctx, list(messages), options, list(tools), output_type, activity_id=activity_id
    )
