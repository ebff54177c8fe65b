"""Broadcast one-to-many: one publish reaches every broadcast subscriber, of both runtimes."""

from __future__ import annotations

from .. import _case

TITLE = "broadcast one-to-many"
SENDER_MODES = ("publisher", "subscriber")
RECEIVER_MODES = ("subscriber",)


async def run(cell: _case.Cell) -> str:
    channel = cell.channel("broadcast")
    flags = {"channel": channel, "channel_mode": "broadcast"}
    subscribers = await cell.subscribe_many(cell.receiver, "receiver subscriber", 2, **flags)
    if cell.sender != cell.receiver:
        subscribers += await cell.subscribe_many(cell.sender, "sender-side subscriber", 1, **flags)
    await cell.until_waiting(subscribers)

    text = f"broadcast from {cell.sender.name}"
    data = {"nested": {"value": 123}, "from": cell.sender.name}
    await cell.publish(channel, message=text, data=data)
    for subscriber in subscribers:
        got = await cell.received(subscriber)
        message = got.get("message") or {}
        cell.expect(
            message.get("text") == text and message.get("data") == data,
            f"{subscriber.label} got {message}, expected text {text!r} and data {data}",
        )
    return f"{len(subscribers)} subscribers each received the message"
