"""Durable model calls against the real OpenAI client and a loopback stand-in model.

Every case runs on SQLite, PostgreSQL and MariaDB (the ``app`` fixture); the stand-in
server (romancy.llm.testing) records each request, so the tests see what reached the
model and how often.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from pydantic_ai.messages import ModelRequest

import romancy
from romancy import App, WorkflowContext, WorkflowFailedError
from romancy.llm import (
    AgentContext,
    DurableResponse,
    call,
    call_messages,
    clear_app_defaults,
    define_durable_call,
    execute_tool_calls,
    set_app_defaults,
    user_message,
)
from romancy.llm.testing import Reply, StandInModel, scripted
from tests.llm.conftest import tool_effects
from tests.llm.workflows import CityCard, Verdict, llm_cards, lookup_city

summarize = define_durable_call("summarize", model="stand-in", system="Answer in one line.")


@romancy.workflow
async def llm_ask(ctx: WorkflowContext, spec: dict[str, Any]) -> DurableResponse:
    return await call(ctx, spec.pop("prompt"), **spec)


@romancy.workflow
async def llm_ask_with_tools(ctx: WorkflowContext, base_url: str) -> dict[str, Any]:
    first = await call(
        ctx, "How big is Porto?", tools=[lookup_city], model="stand-in", base_url=base_url
    )
    results = await execute_tool_calls(ctx, first.tool_calls, [lookup_city])
    return {"calls": first.tool_calls, "values": [r.value for r in results]}


@romancy.workflow
async def llm_summarize(ctx: WorkflowContext, base_url: str) -> str:
    answer = await summarize.execute(ctx, "Summarise the trip", base_url=base_url)
    return answer.text


@romancy.workflow
async def llm_conversation(ctx: WorkflowContext, base_url: str) -> str:
    answer = await call_messages(
        ctx,
        [
            {"role": "system", "content": "You are terse."},
            user_message("Hello"),
            {"role": "assistant", "content": "Hi."},
            user_message("Capital of Portugal?"),
        ],
        model="stand-in",
        base_url=base_url,
    )
    return answer.text


async def test_call_sends_the_options_and_records_the_answer(app: App) -> None:
    async with StandInModel(scripted(["Lisbon"])) as model:
        spec = {
            "prompt": "Capital of Portugal?",
            "model": "stand-in",
            "base_url": model.base_url,
            "temperature": 0.25,
            "max_tokens": 64,
            "top_p": 0.5,
            "top_k": 7,
            "seed": 42,
            "system": "Be brief.",
            "stop": ["\n\n"],
        }
        instance_id = await app.start_workflow(llm_ask, spec)
        response = await app.wait_for_result(instance_id, timeout=30)

    assert isinstance(response, DurableResponse) and response.text == "Lisbon"
    assert response.model == "stand-in" and response.finish_reason == "stop"
    assert response.usage.input_tokens > 0 and response.tool_calls == []
    (sent,) = model.requests
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of Portugal?"},
    ]
    assert (sent["temperature"], sent["top_p"], sent["seed"]) == (0.25, 0.5, 42)
    assert sent["max_completion_tokens"] == 64 and sent["stop"] == ["\n\n"]
    assert sent["top_k"] == 7  # for OpenAI-compatible servers (vLLM, Ollama) that read it
    history = await app.storage.history.load_history(instance_id)
    assert [r.activity_id for r in history] == ["llm_call:1"]


async def test_tool_calls_come_back_and_each_runs_as_its_own_step(
    app: App, effects_table: None
) -> None:
    async with StandInModel(scripted([Reply.calls(("lookup_city", {"city": "Porto"}))])) as model:
        instance_id = await app.start_workflow(llm_ask_with_tools, model.base_url)
        result = await app.wait_for_result(instance_id, timeout=30)

    assert result["calls"][0]["name"] == "lookup_city"
    assert result["calls"][0]["arguments"] == {"city": "Porto"}
    assert result["values"] == [{"city": "Porto", "population": 5000}]
    (offered,) = model.requests[0]["tools"]
    assert offered["function"]["name"] == "lookup_city"
    assert offered["function"]["description"] == "Facts about a city."
    assert offered["function"]["parameters"]["required"] == ["city"]
    history = await app.storage.history.load_history(instance_id)
    assert [r.activity_id for r in history] == ["llm_call:1", "llm_tool:lookup_city:1"]
    assert await tool_effects(app, instance_id) == {"lookup_city": 1}


async def test_app_defaults_apply_and_a_call_overrides_them(app: App) -> None:
    async with StandInModel(scripted(["ok"])) as model:
        set_app_defaults(app, model="stand-in", base_url=model.base_url, temperature=0.1, seed=7)
        try:
            first = await app.start_workflow(llm_ask, {"prompt": "one"})
            await app.wait_for_result(first, timeout=30)
            second = await app.start_workflow(llm_ask, {"prompt": "two", "temperature": 0.9})
            await app.wait_for_result(second, timeout=30)
        finally:
            clear_app_defaults(app)

    assert [(r["temperature"], r["seed"]) for r in model.requests] == [(0.1, 7), (0.9, 7)]


async def test_a_durable_call_records_under_its_own_name(app: App) -> None:
    async with StandInModel(scripted(["Lisbon, sun, food."])) as model:
        instance_id = await app.start_workflow(llm_summarize, model.base_url)
        assert await app.wait_for_result(instance_id, timeout=30) == "Lisbon, sun, food."

    assert model.requests[0]["messages"][0] == {"role": "system", "content": "Answer in one line."}
    history = await app.storage.history.load_history(instance_id)
    assert [r.activity_id for r in history] == ["summarize:1"]


async def test_call_messages_sends_the_whole_conversation(app: App) -> None:
    async with StandInModel(scripted(["Lisbon."])) as model:
        instance_id = await app.start_workflow(llm_conversation, model.base_url)
        assert await app.wait_for_result(instance_id, timeout=30) == "Lisbon."

    assert [(m["role"], m["content"]) for m in model.requests[0]["messages"]] == [
        ("system", "You are terse."),
        ("user", "Hello"),
        ("assistant", "Hi."),
        ("user", "Capital of Portugal?"),
    ]
    history = await app.storage.history.load_history(instance_id)
    assert [r.activity_id for r in history] == ["llm_call_messages:1"]


async def test_structured_answers_become_a_dataclass_and_a_pydantic_model(app: App) -> None:
    replies = [
        Reply.structured({"name": "Lisbon", "country": "Portugal", "population": 545000}),
        Reply.structured({"city": "Lisbon", "worth_visiting": True, "reasons": ["light"]}),
    ]
    async with StandInModel(scripted(replies)) as model:
        instance_id = await app.start_workflow(llm_cards, model.base_url)
        result = await app.wait_for_result(instance_id, timeout=30)

    # llm_cards asserts the types inside the workflow; the result is their JSON.
    assert CityCard(**result["card"]) == CityCard("Lisbon", "Portugal", 545000)
    assert Verdict(**result["verdict"]) == Verdict(
        city="Lisbon", worth_visiting=True, reasons=["light"]
    )
    first = model.requests[0]
    assert first["tool_choice"] == "required"
    (output_tool,) = first["tools"]
    assert output_tool["function"]["name"] == "final_result"
    assert set(output_tool["function"]["parameters"]["properties"]) == {
        "name",
        "country",
        "population",
    }
    history = await app.storage.history.load_history(instance_id)
    assert [r.activity_id for r in history] == ["llm_call_parse:1", "llm_call_parse:2"]


async def test_a_malformed_structured_answer_is_retried_as_a_failed_attempt(app: App) -> None:
    replies = [
        Reply.structured({"name": "Lisbon"}),  # missing fields: the attempt fails
        Reply.structured({"name": "Lisbon", "country": "Portugal", "population": 1}),
        Reply.structured({"city": "Lisbon", "worth_visiting": False, "reasons": []}),
    ]
    async with StandInModel(scripted(replies)) as model:
        instance_id = await app.start_workflow(llm_cards, model.base_url)
        result = await app.wait_for_result(instance_id, timeout=30)

    assert result["card"]["population"] == 1
    assert len(model.requests) == 3


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("temperature", 5, "LLM option temperature must be from 0 to 2"),
        ("max_tokens", 0, "LLM option max_tokens must be an integer of at least 1"),
        ("base_url", "ftp://x", "LLM option base_url must be an http:// or https:// URL"),
        ("stop", "END", "LLM option stop must be a list of strings"),
        ("tempreature", 1, "unknown LLM option 'tempreature'"),
        ("system", "a\x00b", "LLM option system contains a NUL character"),
        ("system", 5, "LLM option system must be a string, not int"),
        ("prompt", ["hi"], "prompt must be a string, not list"),
    ],
)
async def test_bad_options_fail_before_any_step_or_request(
    app: App, option: str, value: Any, message: str
) -> None:
    async with StandInModel(scripted(["never"])) as model:
        spec = {"prompt": "hi", "model": "stand-in", "base_url": model.base_url, option: value}
        instance_id = await app.start_workflow(llm_ask, spec)
        with pytest.raises(WorkflowFailedError) as failure:
            await app.wait_for_result(instance_id, timeout=30)

    assert failure.value.error_type == "InvalidValueError"
    assert message in failure.value.error_message
    assert model.requests == []
    assert not any(
        r.activity_id.startswith("llm_call")
        for r in await app.storage.history.load_history(instance_id)
    )


@romancy.workflow
async def llm_bad_conversation(ctx: WorkflowContext, base_url: str) -> str:
    messages: list[Any] = [user_message("Hello"), {"role": "assistant", "content": 42}]
    answer = await call_messages(ctx, messages, model="stand-in", base_url=base_url)
    return answer.text


async def test_a_message_whose_content_is_not_text_is_named_with_its_type(app: App) -> None:
    async with StandInModel(scripted(["never"])) as model:
        instance_id = await app.start_workflow(llm_bad_conversation, model.base_url)
        with pytest.raises(WorkflowFailedError) as failure:
            await app.wait_for_result(instance_id, timeout=30)

    assert failure.value.error_type == "InvalidValueError"
    assert failure.value.error_message == "message 1 content must be a string, not int"
    assert model.requests == []


async def test_a_provider_whose_package_is_missing_names_the_pip_line(app: App) -> None:
    # anthropic is not part of the llm extra, so it is absent here.
    assert importlib.util.find_spec("anthropic") is None
    instance_id = await app.start_workflow(
        llm_ask, {"prompt": "hi", "model": "anthropic:claude-haiku-4-5"}
    )
    with pytest.raises(WorkflowFailedError) as failure:
        await app.wait_for_result(instance_id, timeout=30)

    assert failure.value.error_type == "ConfigurationError"
    assert 'pip install "pydantic-ai-slim[anthropic]"' in failure.value.error_message
    assert not any(
        r.activity_id.startswith("llm_call")
        for r in await app.storage.history.load_history(instance_id)
    )


def test_agent_context_round_trips_through_json() -> None:
    context = AgentContext(deps={"user": "Ada"})
    context.add([ModelRequest.user_text_prompt("hi")])
    again = AgentContext.from_json(context.to_json())
    assert again == context
    assert again.history()[0].parts[0].content == "hi"  # type: ignore[union-attr]


async def test_a_server_error_is_retried_and_a_rejected_request_is_not(app: App) -> None:
    async with StandInModel(scripted([Reply.error(503), "recovered"])) as model:
        spec = {"prompt": "hi", "model": "stand-in", "base_url": model.base_url}
        retried = await app.start_workflow(llm_ask, spec)
        assert (await app.wait_for_result(retried, timeout=30)).text == "recovered"
    assert len(model.requests) == 2  # the client's own retries are off: one per attempt

    async with StandInModel(scripted([Reply.error(400)])) as model:
        spec = {"prompt": "hi", "model": "stand-in", "base_url": model.base_url}
        rejected = await app.start_workflow(llm_ask, spec)
        with pytest.raises(WorkflowFailedError) as failure:
            await app.wait_for_result(rejected, timeout=30)
    assert len(model.requests) == 1
    assert failure.value.error_type == "TerminalError"


async def test_a_local_server_needs_no_key_even_when_the_key_variable_is_empty(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "")  # set but empty, as in many shells and CI
    async with StandInModel(scripted(["fine"])) as model:
        spec = {"prompt": "hi", "model": "stand-in", "base_url": model.base_url}
        instance_id = await app.start_workflow(llm_ask, spec)
        assert (await app.wait_for_result(instance_id, timeout=30)).text == "fine"
