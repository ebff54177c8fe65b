"""Stopping background tasks that a component of this process started."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel each task given (``None`` is skipped) and return once all have ended.

    What they raise on the way out is swallowed: the caller asked for the stop, and a
    task's own failure is its loop's to report.
    """
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
