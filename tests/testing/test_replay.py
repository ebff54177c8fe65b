"""The replayer: histories recorded by version 1 of a workflow, on every backend, replayed
against version 1 (clean) and a changed version 2 (a violation), in-process and through
``romancy replay``."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from subprocess import CompletedProcess

import pytest

import romancy
from romancy import NonDeterminismError, WorkflowContext
from romancy.storage import Storage
from romancy.testing import (
    WorkflowEnvironment,
    histories_from_json,
    load_histories,
    replay,
)
from romancy.workflow import Workflow
from tests.acceptance.cli_runner import romancy as romancy_cli
from tests.testing.order_v1 import order, tk_bill, tk_reserve, tk_ship
from tests.testing.order_v2 import ORDER_V2

ROOT = Path(__file__).resolve().parents[2]


async def _bill_with_explicit_id(ctx: WorkflowContext, item: str) -> str:
    await tk_reserve(ctx, item)
    await tk_bill(ctx, item, activity_id="bill-v2")  # explicit: the author marks it new
    await romancy.sleep(ctx, timedelta(hours=1))
    return await tk_ship(ctx, item)


async def _ship_renamed(ctx: WorkflowContext, item: str) -> str:
    await tk_bill(ctx, item, activity_id="tk_reserve:1")  # another activity at a recorded id
    await romancy.sleep(ctx, timedelta(hours=1))
    return await tk_ship(ctx, item)


async def _record(storage: Storage) -> tuple[str, str]:
    """One finished and one sleeping instance of version 1."""
    async with WorkflowEnvironment(storage.url.original) as env:
        finished = await env.start(order, "book", instance_id="order-finished")
        assert await env.result(finished) == "shipped book"
        sleeping = await env.start(order, "pen", instance_id="order-sleeping")
        for _ in range(500):
            if (await env.history(sleeping)).step_ids == ["tk_reserve:1"]:
                break
            await asyncio.sleep(0.02)
    return finished, sleeping


async def test_unchanged_code_replays_cleanly_and_a_changed_step_is_a_violation(
    storage: Storage,
) -> None:
    await _record(storage)
    histories = await load_histories(storage.url.original, "tk_order")
    assert [h.instance_id for h in histories] == ["order-finished", "order-sleeping"]

    clean = await replay(order, histories)
    assert clean.ok
    assert [(o.ended, o.stopped_at) for o in clean.outcomes] == [
        ("completed", None),
        ("caught_up", "sleep:1"),  # where the sleeping instance's run goes on later
    ]

    with pytest.raises(NonDeterminismError, match=r"order-finished: .*'tk_bill:1'.*sleep:1"):
        await replay(ORDER_V2, histories)
    report = await replay(ORDER_V2, histories, raise_on_violation=False)
    assert [o.ended for o in report.outcomes] == ["violation", "caught_up"]
    assert len(report.problems) == 1

    explicit = await replay(Workflow("tk_order", _bill_with_explicit_id), histories)
    assert explicit.ok, explicit.problems

    renamed = await replay(Workflow("tk_order", _ship_renamed), histories, raise_on_violation=False)
    assert "records activity 'tk_reserve' under id 'tk_reserve:1'" in renamed.problems[0]


async def test_replay_writes_nothing_and_reads_json_exports(
    storage: Storage, tmp_path: Path
) -> None:
    finished, _ = await _record(storage)
    histories = await load_histories(storage.url.original, "tk_order")
    before = [await storage.history.load_history(h.instance_id) for h in histories]
    await replay(ORDER_V2, histories, raise_on_violation=False)
    assert [await storage.history.load_history(h.instance_id) for h in histories] == before

    export = tmp_path / "histories.json"
    export.write_text(json.dumps([h.to_json() for h in histories]), encoding="utf-8")
    from_file = histories_from_json(export)
    assert from_file == histories
    assert (await replay(order, from_file)).ok

    printed = romancy_cli("get", finished, "--db", storage.url.original, "--json")
    assert printed.returncode == 0, printed.stderr
    assert (await replay(order, histories_from_json(json.loads(printed.stdout)))).ok

    with pytest.raises(romancy.InvalidValueError, match="history export"):
        histories_from_json({"instance_id": "x"})


async def test_romancy_replay_command(storage: Storage) -> None:
    await _record(storage)
    db = storage.url.original
    same = _replay(db, "tests.testing.order_v1")
    assert same.returncode == 0, same.stderr
    assert "Replayed 2 instance(s) of 'tk_order': all replay cleanly." in same.stdout

    changed = _replay(db, "tests.testing.order_v2")
    assert changed.returncode == 1, changed.stderr
    assert "order-finished: VIOLATION" in changed.stdout
    assert "'tk_bill:1'" in changed.stdout

    as_json = _replay(db, "tests.testing.order_v2", "--json")
    data = json.loads(as_json.stdout)
    assert (as_json.returncode, data["ok"], data["replayed"]) == (1, False, 2)

    missing = _replay(db, "no_such_module")
    assert missing.returncode == 1
    assert "cannot import module 'no_such_module'" in missing.stderr


def _replay(db: str, module: str, *extra: str) -> CompletedProcess[str]:
    """``romancy replay`` of every recorded ``tk_order`` against ``module``'s code."""
    args = ("replay", "--db", db, "--workflow", "tk_order", "--module", module, *extra)
    return romancy_cli(*args, cwd=str(ROOT))
