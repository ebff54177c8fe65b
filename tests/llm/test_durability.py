"""What durability promises for LLM calls: a crash mid-loop repeats no model request and
no tool, replay sends nothing, and ``import romancy`` does not pull in pydantic-ai."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from romancy import App
from romancy.llm.testing import StandInModel, scripted, tool_results
from romancy.testing import load_histories, replay
from tests.llm.conftest import tool_effects
from tests.llm.workflows import HANG_VAR, llm_cards, llm_trip, trip_responder
from tests.support.workers import REPO


@pytest.fixture
def app_options() -> dict[str, object]:
    """Leases as short as the worker's, so the takeover after the kill comes quickly."""
    return {"stale_lock_timeout": 3.0}


async def test_a_crash_mid_tool_loop_repeats_no_request_and_no_tool(
    app: App, effects_table: None, tmp_path: Path
) -> None:
    hang_file = tmp_path / "forecast-started"
    async with StandInModel(trip_responder) as model:
        child = subprocess.Popen(  # noqa: ASYNC220 - started once, read off the loop
            [
                *(sys.executable, "-m", "tests.llm.worker"),
                *("--db", app.storage.url.original, "--base-url", model.base_url),
            ],
            cwd=REPO,
            env={**os.environ, HANG_VAR: str(hang_file)},
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            # The model server runs on this loop: read the child's output off it.
            instance_id = (await asyncio.to_thread(child.stdout.readline)).strip()
            for _ in range(600):
                if hang_file.exists():
                    break
                assert child.poll() is None, "the worker died before the forecast tool ran"
                await asyncio.sleep(0.05)
            # The first tool ran and was recorded; the second is in flight.
            assert hang_file.read_text() == instance_id
            assert len(model.requests) == 1
            assert await tool_effects(app, instance_id) == {"lookup_city": 1}
            os.kill(child.pid, signal.SIGKILL)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=30)
            if child.stdout is not None:
                child.stdout.close()

        # This process's App takes the instance over once the dead worker's lease ends.
        result = await app.wait_for_result(instance_id, timeout=60)

    assert result["answer"] == (
        'Go to Lisbon: {"city":"Lisbon","population":6000} | sunny in Lisbon for 2 day(s)'
    )
    # One request before the crash, one after: the first was replayed, not re-sent.
    assert len(model.requests) == 2
    assert tool_results(model.requests[0]) == []
    assert len(tool_results(model.requests[1])) == 2
    # The recorded tool did not run again; the interrupted one took effect once.
    assert await tool_effects(app, instance_id) == {"lookup_city": 1, "forecast": 1}
    history = await app.storage.history.load_history(instance_id)
    assert [r.activity_id for r in history if not r.event_type.startswith("Workflow")] == [
        "trip_agent:1",
        "llm_tool:lookup_city:1",
        "llm_tool:forecast:1",
        "trip_agent:2",
    ]


async def test_replaying_a_completed_history_sends_no_request(
    app: App, effects_table: None
) -> None:
    async with StandInModel(trip_responder) as model:
        spec = {"question": "Where should Ada go?", "base_url": model.base_url}
        instance_id = await app.start_workflow(llm_trip, spec)
        await app.wait_for_result(instance_id, timeout=30)
        assert len(model.requests) == 2

        histories = await load_histories(app.storage.url.original, "llm_trip")
        report = await replay(llm_trip, [h for h in histories if h.instance_id == instance_id])

    (outcome,) = report.outcomes
    assert outcome.ok and outcome.ended == "completed"
    assert len(model.requests) == 2  # nothing was asked again
    assert await tool_effects(app, instance_id) == {"lookup_city": 1, "forecast": 1}


async def test_replaying_structured_answers_rebuilds_them_without_a_request(app: App) -> None:
    from romancy.llm.testing import Reply

    replies = [
        Reply.structured({"name": "Lisbon", "country": "Portugal", "population": 545000}),
        Reply.structured({"city": "Lisbon", "worth_visiting": True, "reasons": ["light"]}),
    ]
    async with StandInModel(scripted(replies)) as model:
        instance_id = await app.start_workflow(llm_cards, model.base_url)
        await app.wait_for_result(instance_id, timeout=30)
        histories = await load_histories(app.storage.url.original, "llm_cards")
        # llm_cards asserts inside the workflow that both answers have their types.
        report = await replay(llm_cards, [h for h in histories if h.instance_id == instance_id])

    assert report.ok and len(model.requests) == 2


def test_importing_romancy_does_not_import_pydantic_ai() -> None:
    code = "import sys, romancy; print('pydantic_ai' in sys.modules, 'openai' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False"]
