"""Worker processes for the multi-process tests (acceptance and chaos).

A worker is ``python -m tests.acceptance.programs.worker`` against one database: a real
App in its own process, so a test can SIGKILL it, restart it, or cut its database.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import IO

from sqlalchemy import text

from romancy.storage import NewInstance, Storage

REPO = Path(__file__).resolve().parents[2]
STEPS_WORKFLOW = "mp_steps"
_STATUS_COUNTS = text("SELECT status, COUNT(*) FROM workflow_instances GROUP BY status")


def worker(url: str, *args: str, log: Path | None = None) -> subprocess.Popen[str]:
    """Start a worker process; its output goes to pipes, or appended to ``log`` when given.

    Long runs should pass ``log``: a full pipe nobody reads would block the worker.
    """
    sink: IO[str] | int = subprocess.PIPE if log is None else log.open("a")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.acceptance.programs.worker", "--db", url, *args],
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.STDOUT if log is not None else subprocess.PIPE,
            text=True,
        )
    finally:
        if not isinstance(sink, int):
            sink.close()  # the child holds its own copy


def terminate(processes: list[subprocess.Popen[str]], timeout: float = 60) -> None:
    """SIGTERM every live process and wait for each (a graceful App shutdown)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def enqueue_steps(storage: Storage, count: int, spec: dict[str, float]) -> list[str]:
    """Create ``count`` queued, unlocked ``mp_steps`` instances: any worker may take each."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    for instance_id in ids:
        await storage.instances.create_instance(
            NewInstance(
                instance_id=instance_id,
                workflow_name=STEPS_WORKFLOW,
                source_hash="test",
                source_code="",
                owner_service="test",
                framework="romancy-py",
                input_data=json.dumps(spec),
            )
        )
    return ids


async def create_side_effects_table(storage: Storage) -> None:
    """The table ``mp_step`` writes through ``ctx.session`` (workers create it too)."""
    async with storage.transaction() as tx:
        await tx.connection.execute(
            text("CREATE TABLE IF NOT EXISTS mp_side_effects (instance_id VARCHAR(64), step INT)")
        )


async def status_counts(storage: Storage) -> dict[str, int]:
    """How many instances are in each status."""
    async with storage.transaction(read_only=True) as tx:
        return {str(s): int(n) for s, n in (await tx.connection.execute(_STATUS_COUNTS)).all()}


async def wait_all_completed(storage: Storage, count: int, timeout: float) -> dict[str, int]:
    """Poll until ``count`` instances are completed (or ``timeout``); the last counts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            statuses = await status_counts(storage)
        except Exception:  # the server may be down on purpose; ask again
            statuses = {}
        if statuses.get("completed") == count or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.1)


async def side_effects(storage: Storage) -> Counter[tuple[str, int]]:
    """How often each ``(instance_id, step)`` row of ``mp_side_effects`` exists."""
    async with storage.transaction(read_only=True) as tx:
        rows = await tx.connection.execute(text("SELECT instance_id, step FROM mp_side_effects"))
        return Counter((str(i), int(s)) for i, s in rows)


async def duplicated(storage: Storage, table: str, columns: str) -> int:
    """Rows of ``table`` beyond the first per distinct ``columns`` (0 when all unique).

    ``table`` and ``columns`` are the tests' own constants, never outside input.
    """
    async with storage.transaction(read_only=True) as tx:
        rows = (await tx.connection.execute(text(f"SELECT {columns} FROM {table}"))).all()
    return sum(n - 1 for n in Counter(tuple(r) for r in rows).values())
