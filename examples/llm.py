"""Durable LLM calls: a trip-planning workflow whose model requests and tools are steps.

    python examples/llm.py                      # SQLite file llm_example.db
    python examples/llm.py --db postgresql://…  # any romancy database

Needs ``pip install 'romancy[llm]'``. With OPENAI_API_KEY set it asks OpenAI
(``ROMANCY_LLM_MODEL`` picks the model, ``gpt-4o-mini`` by default; ``OPENAI_BASE_URL``
points it at Ollama, vLLM or LM Studio instead). Without a key it starts a stand-in
model on 127.0.0.1 (romancy.llm.testing) that answers by rule, so it runs offline.

What to watch for:

* the history printed at the end: every model request (``trip_planner:1``…) and every
  tool call (``llm_tool:weather:1``…) is its own recorded step;
* "model requests sent" equals the number of model steps: the replay check at the end
  re-runs the workflow from its history and sends nothing;
* ``call_parse`` hands the workflow a typed ``Plan`` dataclass, rebuilt from the
  recorded JSON on replay.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from dataclasses import dataclass
from typing import Any

import romancy
from romancy import WorkflowContext
from romancy.llm import AgentContext, DurableAgent, call_parse, set_app_defaults, tool
from romancy.llm.testing import Reply, StandInModel, last_user_text, tool_results
from romancy.testing import load_histories, replay

DATABASE = "sqlite:///llm_example.db"


@dataclass
class Plan:
    city: str
    days: int
    packing: list[str]


@tool
def weather(city: str) -> dict[str, Any]:
    """Today's weather in a city.

    Args:
        city: the city's name
    """
    print(f"  tool weather({city!r}) runs (once: it is a recorded step)")
    return {"city": city, "sky": "sunny", "celsius": 24}


planner = DurableAgent(
    "trip_planner", tools=[weather], system="You plan short trips. Use tools for facts."
)


@romancy.workflow
async def plan_trip(ctx: WorkflowContext, city: str) -> dict[str, Any]:
    context = AgentContext(deps={"city": city})
    advice = await planner.chat_with_tool_loop(ctx, context, f"Should I visit {city} today?")
    plan = await call_parse(ctx, f"Make a plan for {city}. Advice: {advice.text}", Plan)
    return {"advice": advice.text, "plan": plan, "turns": len(context.messages)}


def stand_in(request: dict[str, Any]) -> Reply:
    """A rule-based model: check the weather, then advise, then fill in the plan."""
    names = {t["function"]["name"] for t in request.get("tools", [])}
    if "final_result" in names:
        return Reply.structured({"city": "Lisbon", "days": 2, "packing": ["hat", "sunscreen"]})
    results = tool_results(request)
    if not results:
        return Reply.calls(("weather", {"city": last_user_text(request).split()[-2]}))
    return Reply.text(f"Yes, go: the forecast says {results[-1]['content']}.")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DATABASE, help="database URL (default: %(default)s)")
    parser.add_argument("--city", default="Lisbon")
    args = parser.parse_args()
    model: StandInModel | None = None
    async with romancy.App(database=args.db, service_name="llm-example") as app:
        if os.environ.get("OPENAI_API_KEY"):
            name = os.environ.get("ROMANCY_LLM_MODEL", "gpt-4o-mini")
            base_url = os.environ.get("OPENAI_BASE_URL")
            set_app_defaults(app, model=name if base_url else f"openai:{name}", base_url=base_url)
            print(f"asking {name} at {base_url or 'OpenAI'}")
        else:
            model = StandInModel(stand_in)
            await model.start()
            set_app_defaults(app, model="stand-in", base_url=model.base_url)
            print(f"no OPENAI_API_KEY: using the stand-in model at {model.base_url}")
        try:
            instance_id = await app.start_workflow(plan_trip, args.city)
            result = await app.wait_for_result(instance_id, timeout=120)
            print("advice:", result["advice"])
            print("plan:  ", Plan(**result["plan"]))
            history = await app.storage.history.load_history(instance_id)
            print("history:", ", ".join(r.activity_id for r in history))
            if model is not None:
                sent = len(model.requests)
                histories = await load_histories(args.db, "plan_trip")
                await replay(plan_trip, [h for h in histories if h.instance_id == instance_id])
                print(
                    f"model requests sent: {sent}; after replaying the history: "
                    f"{len(model.requests)}"
                )
        finally:
            if model is not None:
                await model.close()


if __name__ == "__main__":
    asyncio.run(main())
