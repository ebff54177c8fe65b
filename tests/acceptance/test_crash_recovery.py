"""A worker killed with SIGKILL mid-workflow; another worker finishes the job."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable

from sqlalchemy import text

from romancy.serialization import loads
from romancy.storage import Storage
from tests.support.workers import worker


async def test_sigkill_mid_workflow_then_another_worker_finishes(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    first = worker(url, "--start", "1", "--steps", "20", "--pause", "0.25", "--worker-id", "doomed")
    assert first.stdout is not None
    instance_id = first.stdout.readline().strip()
    storage = await Storage.open(url)
    try:
        for _ in range(600):  # let it get about halfway
            if len(await storage.history.load_history(instance_id)) >= 5:
                break
            await asyncio.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        done_before = len(await storage.history.load_history(instance_id))
        assert 5 <= done_before < 20, "the kill must land mid-workflow"
        instance = await storage.instances.get_instance(instance_id)
        assert instance is not None and instance.locked_by == "doomed"

        second = worker(url, "--worker-id", "rescuer")
        try:
            for _ in range(1200):
                instance = await storage.instances.get_instance(instance_id)
                assert instance is not None
                if instance.status == "completed":
                    break
                await asyncio.sleep(0.05)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)

        assert instance.status == "completed"
        assert loads(instance.output_data) == sum(step * step for step in range(20))
        rows = await storage.history.load_history(instance_id)
        assert [r.activity_id for r in rows] == [f"mp_step:{n}" for n in range(1, 21)]
        async with storage.transaction(read_only=True) as tx:
            effects = (
                (
                    await tx.connection.execute(
                        text(
                            "SELECT step FROM mp_side_effects WHERE instance_id = :i ORDER BY step"
                        ),
                        {"i": instance_id},
                    )
                )
                .scalars()
                .all()
            )
        assert effects == list(range(20))  # every step's effect committed exactly once
    finally:
        await storage.close()
