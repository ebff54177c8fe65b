"""Four worker processes share 500 workflows on one PostgreSQL / MariaDB database."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import text

from romancy.storage import Storage
from tests.support.workers import enqueue_steps, worker

WORKFLOWS = 500
STATUS_COUNTS = text("SELECT status, COUNT(*) FROM workflow_instances GROUP BY status")


@pytest.mark.backends(
    "postgresql",
    "mysql",
    reason="SQLite allows one writer per file; multi-process contention is a server concern",
)
async def test_four_workers_500_workflows(make_database: Callable[[], str]) -> None:
    url = make_database()
    storage = await Storage.open(url)
    try:
        await storage.migrate()
        async with storage.transaction() as tx:
            await tx.connection.execute(
                text("CREATE TABLE mp_side_effects (instance_id VARCHAR(64), step INT)")
            )
        spec = {"steps": 3, "pause": 0.0, "sleep_at": 1, "sleep": 1.0}
        ids = await enqueue_steps(storage, WORKFLOWS, spec)
        workers = [worker(url, "--worker-id", f"w{n}", "--lease", "30") for n in range(4)]
        try:
            for _ in range(3600):
                async with storage.transaction(read_only=True) as tx:
                    statuses = dict((await tx.connection.execute(STATUS_COUNTS)).all())
                if statuses.get("completed") == WORKFLOWS:
                    break
                await asyncio.sleep(0.1)
        finally:
            for process in workers:
                process.send_signal(signal.SIGTERM)
            outputs = [process.communicate(timeout=60) for process in workers]
        assert statuses == {"completed": WORKFLOWS}, statuses

        async with storage.transaction(read_only=True) as tx:
            steps = (
                await tx.connection.execute(
                    text("SELECT instance_id, activity_id FROM workflow_history")
                )
            ).all()
            effects = (
                await tx.connection.execute(text("SELECT instance_id, step FROM mp_side_effects"))
            ).all()
            outputs_by_id = dict(
                (
                    await tx.connection.execute(
                        text("SELECT instance_id, output_data FROM workflow_instances")
                    )
                ).all()
            )
        per_instance = Counter(instance_id for instance_id, _ in steps)
        assert set(per_instance.values()) == {4}  # 3 activities and 1 timer, once each
        assert Counter(effects) == Counter({(i, s): 1 for i in ids for s in range(3)})
        assert set(outputs_by_id.values()) == {"5"}  # 0 + 1 + 4
        for _out, err in outputs:  # no lock error (or any other) surfaced in a worker
            assert "Traceback" not in err and "ERROR" not in err, err[-2000:]
    finally:
        await storage.close()
