"""A one-line progress indicator for long commands, shown only to a person at a terminal."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator

from romancy.tasks import cancel_and_wait

#: Seconds between two updates of the elapsed time.
TICK = 0.5


@contextlib.asynccontextmanager
async def progress(label: str, *, quiet: bool = False) -> AsyncIterator[None]:
    """Show ``label… Ns`` on stderr while the block runs, then erase it.

    Nothing is written when ``quiet`` (``--json``) or when stderr is not a terminal, so
    piped and scripted output never carries it.
    """
    if quiet or not sys.stderr.isatty():
        yield
        return
    started = time.monotonic()

    def show() -> None:
        sys.stderr.write(f"\r{label}… {time.monotonic() - started:.0f}s")
        sys.stderr.flush()

    async def tick() -> None:
        while True:
            await asyncio.sleep(TICK)
            show()

    show()  # at once: a fast step on SQLite may never yield to the ticker
    ticker = asyncio.create_task(tick())
    try:
        yield
    finally:
        await cancel_and_wait(ticker)
        sys.stderr.write("\r\x1b[K")  # erase the line
        sys.stderr.flush()
