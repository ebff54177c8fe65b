"""Worker processes SIGKILLed and restarted at random while they run workflows.

Each step writes one row through ``ctx.session`` (committed with the step's history row:
exactly once) and one line to a file outside any transaction (at least once). Killed
workers' instances wait for their lease to expire, then the survivors finish them.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from romancy.storage import Storage
from tests.support.chaos import profile, record
from tests.support.fixtures import Backend
from tests.support.workers import (
    create_side_effects_table,
    duplicated,
    enqueue_steps,
    side_effects,
    terminate,
    wait_all_completed,
    worker,
)

LEASE = "3"  # seconds: a killed worker's instances are free again this long after the kill
LOCKED_BY = "SELECT COUNT(*) FROM workflow_instances WHERE locked_by = :w"


async def test_sigkill_workers_under_load(
    backend: Backend, make_database: Callable[[str], str], tmp_path: Path
) -> None:
    sizes = profile()
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    url = make_database("chaos")
    storage = await Storage.open(url)
    outside = tmp_path / "outside.log"
    serial = itertools.count()
    live: list[tuple[str, subprocess.Popen[str]]] = []

    def spawn() -> tuple[str, subprocess.Popen[str]]:
        worker_id = f"chaos-{next(serial)}"
        args = ("--worker-id", worker_id, "--lease", LEASE, "--outside", str(outside))
        return worker_id, worker(url, *args, log=tmp_path / f"{worker_id}.log")

    try:
        await storage.migrate()
        await create_side_effects_table(storage)
        spec = {"steps": sizes.kill_steps, "pause": sizes.kill_step_pause}
        ids = await enqueue_steps(storage, sizes.kill_workflows, spec)
        live = [spawn() for _ in range(sizes.kill_workers)]
        try:
            await _first_step_done(storage)
            kills_holding_work = 0
            for _ in range(sizes.kills):
                await asyncio.sleep(sizes.kill_window / sizes.kills * rng.uniform(0.5, 1.5))
                slot = rng.randrange(len(live))
                victim_id, victim = live[slot]
                os.kill(victim.pid, signal.SIGKILL)
                victim.wait(timeout=30)
                kills_holding_work += await _count(storage, LOCKED_BY, w=victim_id) > 0
                live[slot] = spawn()
            last_kill = time.monotonic()
            statuses = await wait_all_completed(
                storage, sizes.kill_workflows, timeout=120 + 10 * sizes.kill_window
            )
            recovery = time.monotonic() - last_kill
        finally:
            terminate([process for _, process in live])

        lost = sizes.kill_workflows - statuses.get("completed", 0)
        history_dups = await duplicated(storage, "workflow_history", "instance_id, activity_id")
        effects = await side_effects(storage)
        effect_dups = sum(n - 1 for n in effects.values())
        runs = Counter(tuple(line.split()) for line in outside.read_text().splitlines())
        total_steps = sizes.kill_workflows * sizes.kill_steps
        record(
            "sigkill",
            backend.name,
            workers=sizes.kill_workers,
            workflows=sizes.kill_workflows,
            steps=sizes.kill_steps,
            kills=sizes.kills,
            kills_holding_work=kills_holding_work,
            lost=lost,
            duplicate_history_rows=history_dups,
            duplicate_transactional_effects=effect_dups,
            at_least_once_reexecutions=sum(runs.values()) - total_steps,
            recovery_seconds=round(recovery, 2),
            seed=seed,
        )
        context = f"seed {seed}, statuses {statuses}"
        assert lost == 0, context
        assert history_dups == 0 and effect_dups == 0, context
        every_step = {(i, str(s)) for i in ids for s in range(sizes.kill_steps)}
        assert set(runs) == every_step, context  # each step ran at least once, nothing else
        # The transactional effect: exactly once per step, even for steps cut by a kill.
        assert effects == Counter({(i, s): 1 for i in ids for s in range(sizes.kill_steps)})
        await _assert_results(storage, ids, sizes.kill_steps)
        for worker_id, _ in live:  # the survivors shut down cleanly, nothing crashed
            log = (tmp_path / f"{worker_id}.log").read_text()
            assert "Traceback" not in log, log[-3000:]
    finally:
        await storage.close()


async def _first_step_done(storage: Storage) -> None:
    """Wait until the workers are up and working, so the kills land under load."""
    for _ in range(1200):
        if await _count(storage, "SELECT COUNT(*) FROM mp_side_effects"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no worker ran a step within 60 s")


async def _count(storage: Storage, query: str, **params: str) -> int:
    async with storage.transaction(read_only=True) as tx:
        return int((await tx.connection.execute(text(query), params)).scalar() or 0)


async def _assert_results(storage: Storage, ids: list[str], steps: int) -> None:
    async with storage.transaction(read_only=True) as tx:
        query = text("SELECT instance_id, output_data FROM workflow_instances")
        outputs = {str(i): str(o) for i, o in await tx.connection.execute(query)}
    assert outputs == {i: str(sum(s * s for s in range(steps))) for i in ids}
