"""How the engine's waits and critical sections meet cancellation.

* :func:`finish_first` — work that must not stop half-way (a delivery holding a foreign
  instance's lock, a shutdown handing back the leader lease) runs to its end, and a
  cancellation that arrived meanwhile goes on afterwards.
* :func:`sleep_or_wake` — the background loops' pause, which a cancellation always ends.
* :func:`stop_if_cancelling` — a cancellation a database driver turned into its own error
  still stops the task.
  ``asyncio.wait_for`` is not used for it: on Python 3.11 it drops a cancellation that
  arrives just as the awaited event is set, and the loop would then never stop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def finish_first(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to its end; a cancellation arriving meanwhile is passed on after it."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return task.result()


async def sleep_or_wake(seconds: float, wake: asyncio.Event) -> None:
    """Pause for ``seconds`` or until ``wake`` is set (then clear it)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await wake.wait()
    wake.clear()


def cancelling() -> bool:
    """Whether this task was asked to stop.

    A cancellation thrown into a driver's call can come out as the driver's own error
    (aiomysql: "Cancelled during execution"); handled as a failure or an outage, it would
    be retried and the cancellation lost, so error handlers ask this first.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def stop_if_cancelling(error: BaseException) -> None:
    """Raise ``CancelledError`` (from ``error``) when this task was asked to stop."""
    if cancelling():
        raise asyncio.CancelledError from error
