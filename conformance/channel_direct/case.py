"""Direct send-to: a message sent to one instance reaches that instance only."""

from __future__ import annotations

import json

from .. import _case

TITLE = "direct send-to"
SENDER_MODES = ("send-to",)
RECEIVER_MODES = ("subscriber",)


async def run(cell: _case.Cell) -> str:
    channel = cell.channel("direct")
    target = await cell.listen("direct subscriber", channel=channel, channel_mode="direct")
    bystander = await cell.listen("bystander", channel=channel, channel_mode="direct", timeout=6)
    target_id, _ = await cell.until_waiting([target, bystander])

    text = f"direct from {cell.sender.name}"
    data = {"direct": True, "value": 999}
    metadata = {"source": cell.sender.name, "type": "direct"}
    await cell.send(
        cell.sender,
        "send-to",
        mode="send-to",
        channel=channel,
        message=text,
        data=json.dumps(data),
        metadata=json.dumps(metadata),
        target_instance=target_id,
    )
    got = await cell.received(target)
    message, meta = got.get("message") or {}, got.get("metadata") or {}
    cell.expect(
        message.get("text") == text and message.get("data") == data,
        f"the target got {message}, expected text {text!r} and data {data}",
    )
    cell.expect(
        {k: meta.get(k) for k in metadata} == metadata,
        f"the target's metadata {meta} lacks {metadata}",
    )
    other = await bystander.result(60)
    cell.expect(
        other.get("received") is False,
        f"another instance subscribed to the same channel got the direct message: {other}",
    )
    return "delivered to the target only"
