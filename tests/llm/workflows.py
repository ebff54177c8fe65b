"""Workflows and tools the LLM tests share with their worker process (tests/llm/worker.py).

The tools write their effect through ``ctx.session``: the row commits with the tool's
step, so counting rows counts the tool runs that took effect.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text

import romancy
from romancy import WorkflowContext
from romancy.llm import AgentContext, DurableAgent, call_parse, tool
from romancy.llm.testing import Reply, tool_results

EFFECTS_TABLE = (
    "CREATE TABLE IF NOT EXISTS llm_tool_effects (instance_id VARCHAR(64), tool VARCHAR(32))"
)
#: Set in the worker process only: the forecast tool announces itself in this file, then
#: hangs, so the test can SIGKILL the worker while a tool is in flight.
HANG_VAR = "ROMANCY_LLM_TEST_HANG_FILE"


async def _effect(ctx: WorkflowContext, name: str) -> None:
    await ctx.session.execute(
        text("INSERT INTO llm_tool_effects (instance_id, tool) VALUES (:i, :t)"),
        {"i": ctx.instance_id, "t": name},
    )


@tool
async def lookup_city(ctx: WorkflowContext, city: str) -> dict[str, Any]:
    """Facts about a city.

    Args:
        city: the city's name
    """
    await _effect(ctx, "lookup_city")
    return {"city": city, "population": 1000 * len(city)}


def _announce(path: Path, instance_id: str) -> None:
    """Write ``path`` whole or not at all (the test polls for it)."""
    draft = path.with_suffix(".draft")
    draft.write_text(instance_id)
    draft.replace(path)


@tool
async def forecast(ctx: WorkflowContext, city: str, days: int = 1) -> str:
    """The weather forecast of a city.

    Args:
        city: the city's name
        days: how many days ahead
    """
    hang = os.environ.get(HANG_VAR)
    if hang:
        await asyncio.to_thread(_announce, Path(hang), ctx.instance_id)
        await asyncio.sleep(3600)  # killed here
    await _effect(ctx, "forecast")
    return f"sunny in {city} for {days} day(s)"


def trip_responder(request: dict[str, Any]) -> Reply:
    """The stand-in model of the trip agent: ask for both tools, then answer."""
    results = tool_results(request)
    if not results:
        return Reply.calls(
            ("lookup_city", {"city": "Lisbon"}), ("forecast", {"city": "Lisbon", "days": 2})
        )
    return Reply.text("Go to Lisbon: " + " | ".join(str(r["content"]) for r in results))


trip_agent: DurableAgent[dict[str, Any]] = DurableAgent(
    "trip_agent", tools=[lookup_city, forecast], system="You plan trips.", model="stand-in"
)


@romancy.workflow
async def llm_trip(ctx: WorkflowContext, spec: dict[str, str]) -> dict[str, Any]:
    context = AgentContext(deps={"traveller": "Ada"})
    answer = await trip_agent.chat_with_tool_loop(
        ctx, context, spec["question"], base_url=spec["base_url"]
    )
    return {"answer": answer.text, "context": context}


@dataclass
class CityCard:
    name: str
    country: str
    population: int


class Verdict(BaseModel):
    city: str
    worth_visiting: bool
    reasons: list[str]


@romancy.workflow
async def llm_cards(ctx: WorkflowContext, base_url: str) -> dict[str, Any]:
    card = await call_parse(ctx, "Describe Lisbon", CityCard, model="stand-in", base_url=base_url)
    verdict = await call_parse(ctx, "Worth it?", Verdict, model="stand-in", base_url=base_url)
    assert isinstance(card, CityCard) and isinstance(verdict, Verdict)
    return {"card": card, "verdict": verdict}
