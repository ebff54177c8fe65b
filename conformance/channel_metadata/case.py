"""Message metadata set by the publisher reaches the subscriber (runtimes may add keys,
never drop or change the publisher's)."""

from __future__ import annotations

from .. import _case

TITLE = "metadata round trip"
SENDER_MODES, RECEIVER_MODES = _case.PUBLISHER_TO_SUBSCRIBER


async def run(cell: _case.Cell) -> str:
    channel = cell.channel("metadata")
    metadata = {
        "source": cell.sender.name,
        "custom_field": "値 ✓",
        "trace": {"id": "abc-123", "hops": [1, 2, 3]},
        "flag": True,
        "count": 3,
    }
    subscriber = await cell.one_subscriber(channel)
    await cell.publish(channel, metadata=metadata)
    got = await cell.received(subscriber)
    seen = got.get("metadata") or {}
    changed = sorted(key for key in metadata if seen.get(key) != metadata[key])
    cell.expect(not changed, f"metadata keys lost or changed: {changed} (got {seen})")
    added = sorted(set(seen) - set(metadata))
    return f"kept all {len(metadata)} keys; runtime added {added or 'none'}"
