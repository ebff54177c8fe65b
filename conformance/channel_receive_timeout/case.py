"""A receive with a timeout ends with ``received: false, error: "timeout"`` when nothing
arrives, while the other runtime works on the same database."""

from __future__ import annotations

import time

from .. import _case

TITLE = "receive timeout"
SENDER_MODES, RECEIVER_MODES = _case.PUBLISHER_TO_SUBSCRIBER

TIMEOUT = 3
#: Edda's leader looks for expired receives every 10 s, on top of its lease hand-over.
ALLOWED = 40


async def run(cell: _case.Cell) -> str:
    quiet = cell.channel("quiet")
    began = time.monotonic()
    (subscriber,) = await cell.subscribe_many(
        cell.receiver, "subscriber", 1, channel=quiet, timeout=TIMEOUT
    )
    await cell.publish(cell.channel("busy"), label="publisher elsewhere")
    got = await subscriber.result(TIMEOUT + ALLOWED)
    took = time.monotonic() - began
    cell.expect(
        got == {"received": False, "error": "timeout"},
        f"expected {{received: false, error: timeout}}, got {got}",
    )
    cell.expect(took >= TIMEOUT, f"timed out after {took:.1f} s, before its {TIMEOUT} s")
    return f"timed out after {took:.1f} s (timeout {TIMEOUT} s)"
