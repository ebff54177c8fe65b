"""Tools for SQLite lock tests: an outside process holding the write lock, and a meter of
how long the event loop went without running other tasks."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

# Runs in a separate interpreter: takes the write lock (waiting for it if needed), says
# so on stdout, holds it for argv[2] seconds, then commits.
_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
conn.close()
"""


class LockHolder:
    """A process holding SQLite's write lock on one file for a fixed time."""

    def __init__(self, process: asyncio.subprocess.Process, seconds: float) -> None:
        self._process = process
        self.seconds = seconds
        #: Monotonic time at which the lock was taken.
        self.locked_at = time.monotonic()

    async def released(self, timeout: float = 60.0) -> None:
        """Wait until the holder committed and exited; fail if it did not exit cleanly."""
        code = await asyncio.wait_for(self._process.wait(), timeout)
        assert code == 0, f"lock holder exited with {code}"


@asynccontextmanager
async def outside_writer(path: str, seconds: float) -> AsyncIterator[LockHolder]:
    """Start a process that holds the write lock on ``path`` for ``seconds``; entered once
    it holds the lock."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _HOLDER, path, str(seconds), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line.strip() == b"locked", f"lock holder said {line!r}"
        holder = LockHolder(process, seconds)
        yield holder
        await holder.released()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@dataclass
class LoopStall:
    """The longest gap between two wake-ups of a ticker that sleeps 10 ms at a time: a
    loop that never blocks keeps it a little above 10 ms."""

    max_gap: float = 0.0


@asynccontextmanager
async def loop_stall_meter() -> AsyncIterator[LoopStall]:
    """Measure event-loop stalls for the body of the ``async with``."""
    stall = LoopStall()

    async def tick() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            stall.max_gap = max(stall.max_gap, now - last)
            last = now

    ticker = asyncio.create_task(tick())
    try:
        yield stall
    finally:
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
