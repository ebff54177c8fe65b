"""Numbers and characters JSON libraries treat differently arrive exactly, in the data and
in the metadata: integers beyond 2^53 stay exact integers, floats keep type and value."""

from __future__ import annotations

import json
from typing import Any

from .. import _case

TITLE = "big integers, floats, separators, HTML characters, empties"
SENDER_MODES, RECEIVER_MODES = _case.PUBLISHER_TO_SUBSCRIBER

#: 2^53 + 1: the first integer a float64 cannot hold (it rounds to 2^53).
BEYOND_FLOAT = 9_007_199_254_740_993

PAYLOAD: dict[str, Any] = {
    "integers": {
        "beyond_float": BEYOND_FLOAT,
        "beyond_float_negative": -BEYOND_FLOAT,
        "int64_max": 9_223_372_036_854_775_807,
        "zero": 0,
    },
    "floats": {
        "tenth": 0.1,
        "tiny": 1e-7,
        "negative_zero": -0.0,
        "huge": 1.5e300,
        "whole": 2.5,
    },
    "text": {
        "separators": "line\u2028paragraph\u2029end",
        "html": "<b>a & b</b> 'quoted' \"double\"",
        "script": "</script><!--",
    },
    "empties": {"object": {}, "array": [], "string": "", "nested": {"a": [{}, [], [[]], ""]}},
}


async def run(cell: _case.Cell) -> str:
    channel = cell.channel("numbers")
    subscriber = await cell.one_subscriber(channel)
    metadata = {"probe": PAYLOAD}
    await cell.publish(channel, data=PAYLOAD, metadata=metadata)
    got = await cell.received(subscriber)
    data = (got.get("message") or {}).get("data")
    seen = got.get("metadata") or {}
    # Runtimes may add metadata keys of their own; the publisher's must arrive unchanged.
    changes = changed("data", PAYLOAD, data) + changed("metadata.probe", PAYLOAD, seen.get("probe"))
    cell.expect(not changes, "; ".join(changes))
    return f"{leaves(PAYLOAD)} values arrived exact in data and metadata"


def changed(path: str, sent: Any, got: Any) -> list[str]:
    """Every place where ``got`` differs from ``sent``, in type or value.

    Exact: ``1 != 1.0`` here, and ``-0.0`` differs from ``0.0``.
    """
    if isinstance(sent, dict) and isinstance(got, dict):
        keys = sorted(sent.keys() | got.keys())
        return [
            c
            for k in keys
            for c in changed(f"{path}.{k}", sent.get(k, _MISSING), got.get(k, _MISSING))
        ]
    if isinstance(sent, list) and isinstance(got, list) and len(sent) == len(got):
        return [
            c
            for i, (s, g) in enumerate(zip(sent, got, strict=True))
            for c in changed(f"{path}[{i}]", s, g)
        ]
    if type(sent) is type(got) and repr(sent) == repr(got):
        return []
    return [f"{path}: sent {_show(sent)}, got {_show(got)}"]


def leaves(value: Any) -> int:
    """How many scalars (and empty containers) ``value`` holds."""
    if isinstance(value, dict | list) and value:
        return sum(leaves(v) for v in (value.values() if isinstance(value, dict) else value))
    return 1


_MISSING = object()  # a key one side lacks


def _show(value: Any) -> str:
    if value is _MISSING:
        return "nothing"
    return f"{type(value).__name__} {json.dumps(value, ensure_ascii=True)}"
