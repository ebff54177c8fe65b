"""One worker, many starts, leases renewed every ~0.1 s: renewals overlap the starts.

A renewal asks the database about the runs that exist when it begins; a run started
while that query is in flight is absent from the answer. It must not be taken for lost
(which stopped it, logged "lock lost" and ran its activity again).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter

import pytest

import romancy
from romancy import App, WorkflowContext, WorkflowHooks
from romancy.hooks import WorkflowCompleteInfo
from tests.support.chaos import profile, record
from tests.support.fixtures import Backend

BATCH = 20  # starts in flight at once
executions: Counter[str] = Counter()
completions: Counter[str] = Counter()


class CountCompletions(WorkflowHooks):
    async def on_workflow_complete(self, info: WorkflowCompleteInfo) -> None:
        completions[info.instance_id] += 1


@romancy.activity
async def race_step(ctx: WorkflowContext, seconds: float) -> str:
    executions[ctx.instance_id] += 1
    await asyncio.sleep(seconds)
    return "done"


@romancy.workflow
async def race_flow(ctx: WorkflowContext, seconds: float) -> str:
    return await race_step(ctx, seconds)


@pytest.fixture
def app_options() -> dict[str, object]:
    # Renewal every stale_lock_timeout / 3 = 0.1 s. No expired-lock sweep during the test:
    # a renewal delayed by a busy machine must not pass for the race.
    return {
        "stale_lock_timeout": 0.3,
        "stale_lock_interval": 3600.0,
        "hooks": CountCompletions(),
    }


async def test_renewals_overlapping_starts_lose_no_lock(
    app: App, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="romancy")
    starts = profile().race_starts
    rng = random.Random()
    began = time.monotonic()
    ids: list[str] = []
    while len(ids) < starts:
        batch = [
            app.start_workflow(race_flow, rng.uniform(0.05, 0.3))
            for _ in range(min(BATCH, starts - len(ids)))
        ]
        ids += await asyncio.gather(*batch)
        await asyncio.sleep(rng.uniform(0, 0.05))
    results = [await app.wait_for_result(i, timeout=120) for i in ids]
    lost = [r.getMessage() for r in caplog.records if "lock lost" in r.getMessage()]
    repeated = sum(executions[i] - 1 for i in ids)
    unreported = sum(completions[i] != 1 for i in ids)
    record(
        "lease_race",
        backend.name,
        starts=starts,
        lock_lost_warnings=len(lost),
        duplicate_executions=repeated,
        completion_hooks_missed=unreported,
        seconds=round(time.monotonic() - began, 2),
    )
    assert results == ["done"] * starts
    assert lost == [], lost[:5]
    assert repeated == 0
    assert unreported == 0  # on_workflow_complete once per workflow, none cut short
