"""Nested, unicode and large payloads arrive exactly as sent."""

from __future__ import annotations

import json

from .. import _case

TITLE = "nested / unicode / large payloads"
SENDER_MODES, RECEIVER_MODES = _case.PUBLISHER_TO_SUBSCRIBER

#: Large, yet one command-line argument (Linux caps a single argument at 128 KiB).
LARGE = "Ωλ→x" * 10_000  # 40 000 characters, 70 000 bytes of UTF-8

PAYLOAD = {
    "nested": {"l1": {"l2": {"l3": {"l4": [1, 2.5, True, None, "deep", {"l5": []}]}}}},
    "unicode": '日本語 · עברית · émoji 🎉🚀 · \u00e9\u0301 · <tag> & "quotes" \\ back',
    "numbers": {"max_safe": 9007199254740991, "negative": -17, "fraction": 0.1, "zero": 0},
    "empty": {"list": [], "object": {}, "string": ""},
    "large": LARGE,
}


async def run(cell: _case.Cell) -> str:
    channel = cell.channel("payloads")
    subscriber = await cell.one_subscriber(channel)
    await cell.publish(channel, message="payloads ✓", data=PAYLOAD)
    got = await cell.received(subscriber)
    message = got.get("message") or {}
    cell.expect(message.get("text") == "payloads ✓", f"text arrived as {message.get('text')!r}")
    data = message.get("data") or {}
    wrong = sorted(key for key in PAYLOAD if data.get(key) != PAYLOAD[key])
    cell.expect(not wrong, f"these parts arrived changed: {wrong}")
    return f"{len(json.dumps(PAYLOAD, ensure_ascii=False).encode())} bytes arrived intact"
