"""DurableAgent: tool loops, conversations carried between workflows, tool errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

import romancy
from romancy import App, WorkflowContext
from romancy.errors import InvalidValueError
from romancy.llm import AgentContext, DurableAgent, ToolLoopLimitError, tool
from romancy.llm.testing import Reply, StandInModel, last_user_text, scripted, tool_results
from tests.llm.conftest import tool_effects
from tests.llm.workflows import llm_trip


@dataclass
class Profile:
    name: str
    city: str


@tool
def broken(city: str) -> str:
    """A tool that always fails."""
    raise romancy.TerminalError(f"no data for {city}")


chat_agent: DurableAgent[Profile] = DurableAgent(
    "chat_agent",
    model="stand-in",
    deps_type=Profile,
    build_prompt=lambda profile, message: f"[{profile.name} in {profile.city}] {message}",
)
loop_agent: DurableAgent[Any] = DurableAgent(
    "loop_agent", model="stand-in", tools=[broken], max_iterations=2
)


@romancy.workflow
async def llm_chat_turn(ctx: WorkflowContext, spec: dict[str, Any]) -> AgentContext:
    context: AgentContext = AgentContext.from_json(spec["context"])
    await chat_agent.chat(ctx, context, spec["message"], base_url=spec["base_url"])
    return context


@romancy.workflow
async def llm_broken_loop(ctx: WorkflowContext, base_url: str) -> str:
    context = AgentContext()
    try:
        await loop_agent.chat_with_tool_loop(ctx, context, "Weather?", base_url=base_url)
    except ToolLoopLimitError as error:
        return str(error)
    return "answered"


async def test_the_tool_loop_runs_each_tool_once_and_asks_again(
    app: App, effects_table: None
) -> None:
    from tests.llm.workflows import trip_responder

    async with StandInModel(trip_responder) as model:
        spec = {"question": "Where should Ada go?", "base_url": model.base_url}
        instance_id = await app.start_workflow(llm_trip, spec)
        result = await app.wait_for_result(instance_id, timeout=30)

    assert result["answer"].startswith("Go to Lisbon: ")
    assert "sunny in Lisbon for 2 day(s)" in result["answer"]
    assert len(model.requests) == 2
    assert [m["role"] for m in model.requests[1]["messages"]] == [
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
    ]
    history = await app.storage.history.load_history(instance_id)
    assert [r.activity_id for r in history] == [
        "trip_agent:1",
        "llm_tool:lookup_city:1",
        "llm_tool:forecast:1",
        "trip_agent:2",
    ]
    assert await tool_effects(app, instance_id) == {"lookup_city": 1, "forecast": 1}
    context = AgentContext(**result["context"])
    assert [m["kind"] for m in context.messages] == ["request", "response", "request", "response"]


async def test_a_conversation_travels_between_workflows(app: App) -> None:
    def respond(request: dict[str, Any]) -> str:
        return f"turn {len(request['messages']) // 2 + 1}: {last_user_text(request)}"

    async with StandInModel(respond) as model:
        context = AgentContext(deps={"name": "Ada", "city": "Porto"})
        for message in ("Hello", "Any museums?"):
            spec = {"context": context.to_json(), "message": message, "base_url": model.base_url}
            instance_id = await app.start_workflow(llm_chat_turn, spec)
            context = await app.wait_for_result(instance_id, timeout=30)

    assert isinstance(context, AgentContext)
    assert context.deps == {"name": "Ada", "city": "Porto"}
    second = model.requests[1]["messages"]
    assert [(m["role"], m["content"]) for m in second] == [
        ("user", "[Ada in Porto] Hello"),
        ("assistant", "turn 1: [Ada in Porto] Hello"),
        ("user", "[Ada in Porto] Any museums?"),
    ]
    assert len(context.messages) == 4


async def test_a_failing_tool_is_reported_to_the_model_and_the_loop_is_bounded(
    app: App,
) -> None:
    async with StandInModel(scripted([Reply.calls(("broken", {"city": "Faro"}))])) as model:
        instance_id = await app.start_workflow(llm_broken_loop, model.base_url)
        outcome = await app.wait_for_result(instance_id, timeout=30)

    assert outcome == "agent 'loop_agent' still asked for tools after 2 model requests"
    assert len(model.requests) == 2
    (told,) = tool_results(model.requests[1])
    assert "TerminalError: no data for Faro" in told["content"]
    history = await app.storage.history.load_history(instance_id)
    assert [r.activity_id for r in history][:3] == [
        "loop_agent:1",
        "llm_tool:broken:1",
        "loop_agent:2",
    ]


def test_tool_definitions_are_checked() -> None:
    with pytest.raises(InvalidValueError, match="tool name 'bad name'"):
        tool(name="bad name")(lambda: None)
    with pytest.raises(InvalidValueError, match="max_iterations must be at least 1"):
        DurableAgent("zero", max_iterations=0)
    with pytest.raises(InvalidValueError, match="AgentContext"):
        AgentContext.from_json("[1, 2]")
