"""A message published before its subscriber subscribed: a competing channel keeps it for
the consumer that comes later; a broadcast subscriber starts at the channel's current end."""

from __future__ import annotations

import asyncio
from typing import Any

from .. import _case

TITLE = "late subscriber: competing keeps, broadcast starts at the end"
SENDER_MODES, RECEIVER_MODES = _case.PUBLISHER_TO_SUBSCRIBER

EARLY = {"phase": "early"}
LATE = {"phase": "late"}


async def run(cell: _case.Cell) -> str:
    competing = cell.channel("late-competing")
    broadcast = cell.channel("late-broadcast")
    # Both early messages are in the table before anyone subscribes to either channel.
    await asyncio.gather(
        *(_publish(cell, channel, "early", EARLY) for channel in (competing, broadcast))
    )
    consumer = await cell.listen(
        "late competing consumer", channel=competing, channel_mode="competing"
    )
    subscriber = await cell.one_subscriber(broadcast)
    await _publish(cell, broadcast, "late", LATE)

    where = f"competing, published before the {cell.receiver.name} consumer subscribed"
    got = await consumer.result(cell.receive_timeout + 30)
    cell.expect(
        got.get("received") is True and (got.get("message") or {}).get("data") == EARLY,
        f"{where}: the late competing consumer reported {got}",
    )
    # Consumed means claimed by its text id and deleted: no later consumer can get it again.
    left = await _left_after(cell, competing, seconds=5)
    cell.expect(
        left == 0,
        f"{where}: the consumer received it, yet {left} message(s) stayed in channel_messages",
    )

    where = f"broadcast, {cell.receiver.name} subscriber joined after one message"
    got = await subscriber.result(cell.receive_timeout + 30)
    data = (got.get("message") or {}).get("data")
    cell.expect(
        got.get("received") is True and data == LATE,
        f"{where}: expected only the later message {LATE}, the subscriber reported {got}",
    )
    return "competing: the waiting message reached the late consumer; broadcast: only the later one"


async def _publish(cell: _case.Cell, channel: str, phase: str, data: dict[str, Any]) -> None:
    await cell.publish(channel, label=f"{phase} publisher on {channel}", message=phase, data=data)


async def _left_after(cell: _case.Cell, channel: str, seconds: float) -> int:
    """Messages of ``channel`` still stored once ``seconds`` passed or none is left."""
    for _ in range(int(seconds / 0.2)):
        left = await cell.messages_left(channel)
        if not left:
            return 0
        await asyncio.sleep(0.2)
    return await cell.messages_left(channel)
