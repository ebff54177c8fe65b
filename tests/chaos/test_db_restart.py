"""The database server restarts while two worker processes run workflows.

The server is the test's own (see tests/support/private_server.py): stopping it leaves the
shared test servers alone. The workers are not restarted: they must reconnect by
themselves and finish everything, each step recorded once.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from romancy.storage import Storage
from tests.support.chaos import profile, record
from tests.support.fixtures import Backend
from tests.support.private_server import PrivateServer
from tests.support.workers import (
    create_side_effects_table,
    duplicated,
    enqueue_steps,
    side_effects,
    terminate,
    wait_all_completed,
    worker,
)

WORKERS = 2
STEP_PAUSE = 0.3
EFFECTS = text("SELECT COUNT(*) FROM mp_side_effects")


@pytest.fixture
def server(backend: Backend) -> Iterator[PrivateServer]:
    private = PrivateServer(backend.name)
    try:
        yield private
    finally:
        private.destroy()


@pytest.mark.backends(
    "postgresql",
    "mysql",
    reason="SQLite has no server to restart; its outage (a lock holder) is tested apart",
)
async def test_server_restart_under_load(
    backend: Backend, server: PrivateServer, tmp_path: Path
) -> None:
    sizes = profile()
    url = server.start()
    count = sizes.outage_workflows
    outside = tmp_path / "outside.log"
    storage = await Storage.open(url)
    try:
        await storage.migrate()
        await create_side_effects_table(storage)
        ids = await enqueue_steps(
            storage, count, {"steps": sizes.outage_steps, "pause": STEP_PAUSE}
        )
        logs = [tmp_path / f"worker-{n}.log" for n in range(WORKERS)]
        workers = [
            worker(url, "--worker-id", f"w{n}", "--lease", "5", "--outside", str(outside), log=log)
            for n, log in enumerate(logs)
        ]
        try:
            # A worker still starting when the server goes away fails its start (as it
            # should); the test is about workers that were running.
            await _all_ready(logs)
            before = await _effects_once_some_exist(storage)
            server.stop()
            await asyncio.sleep(sizes.outage_seconds)
            server.start()
            back = time.monotonic()
            first_progress = await _seconds_until_more_than(storage, before, back)
            statuses = await wait_all_completed(storage, count, timeout=300)
            all_done = time.monotonic() - back
            alive = sum(process.poll() is None for process in workers)
        finally:
            terminate(workers)

        history_dups = await duplicated(storage, "workflow_history", "instance_id, activity_id")
        effects = await side_effects(storage)
        runs = Counter(tuple(line.split()) for line in outside.read_text().splitlines())
        record(
            "db_restart",
            backend.name,
            workflows=count,
            steps=sizes.outage_steps,
            outage_seconds=sizes.outage_seconds,
            lost=count - statuses.get("completed", 0),
            duplicate_history_rows=history_dups,
            first_progress_after_restart_seconds=first_progress,
            all_completed_after_restart_seconds=round(all_done, 2),
            at_least_once_reexecutions=sum(runs.values()) - count * sizes.outage_steps,
            workers_alive=alive,
        )
        assert statuses == {"completed": count}, statuses
        # Recovered by themselves, never restarted; a worker that exited shows its log.
        assert alive == WORKERS, [_exit_story(log.read_text()) for log in logs]
        assert history_dups == 0
        steps = range(sizes.outage_steps)
        assert effects == Counter({(i, s): 1 for i in ids for s in steps})
        assert set(runs) == {(i, str(s)) for i in ids for s in steps}
        for log in logs:
            assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
    finally:
        await storage.close()


async def _effects_once_some_exist(storage: Storage) -> int:
    """Wait until the workers have committed a step; how many they have committed."""
    for _ in range(1200):
        async with storage.transaction(read_only=True) as tx:
            done = int((await tx.connection.execute(EFFECTS)).scalar() or 0)
        if done:
            return done
        await asyncio.sleep(0.05)
    raise AssertionError("no worker ran a step within 60 s")


async def _seconds_until_more_than(storage: Storage, before: int, since: float) -> float:
    """Seconds from ``since`` until more than ``before`` steps are committed."""
    deadline = since + 300
    while time.monotonic() < deadline:
        try:
            async with storage.transaction(read_only=True) as tx:
                if int((await tx.connection.execute(EFFECTS)).scalar() or 0) > before:
                    return round(time.monotonic() - since, 2)
        except Exception:  # connections of the pool died with the server: ask again
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("no step committed within 300 s of the restart")


def _exit_story(log: str) -> str:
    """A worker log without its retry chatter: what made the process end."""
    lines = [line for line in log.splitlines() if "will retry" not in line]
    return "\n".join(lines[-60:])


async def _all_ready(logs: list[Path], timeout: float = 120) -> None:
    """Wait until every worker has printed ``ready`` (its App has started)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not all(log.exists() and "ready" in log.read_text().split() for log in logs):
        assert asyncio.get_running_loop().time() < deadline, "workers never became ready"
        await asyncio.sleep(0.1)
