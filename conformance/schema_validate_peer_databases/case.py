"""After both runtimes published and received on one database, ``romancy schema
validate`` finds it clean."""

from __future__ import annotations

import json

from .. import _case

TITLE = "romancy schema validate passes a database both runtimes wrote"
SENDER_MODES, RECEIVER_MODES = _case.BOTH_WAYS


async def run(cell: _case.Cell) -> str:
    # Broadcast: a subscriber of each runtime, one publish with metadata.
    broadcast = cell.channel("validate-broadcast")
    listeners = await cell.waiting_on_both_sides("subscriber", 1, channel=broadcast)
    meta = json.dumps({"trace": "t-1", "note": "naïve ☕"})
    await cell.send(cell.sender, "publisher", mode="publisher", channel=broadcast, metadata=meta)
    # Competing: the receiver runtime publishes, the sender runtime consumes.
    competing = cell.channel("validate-competing")
    (consumer,) = await cell.subscribe_many(
        cell.sender, "consumer", 1, channel=competing, channel_mode="competing", timeout=30
    )
    await cell.until_waiting([consumer])
    await cell.send(cell.receiver, "receiver publisher", mode="publisher", channel=competing)
    for run in [*listeners, consumer]:
        await cell.received(run)

    code, out, err = await cell.run_cli(None, "schema", "validate", "--db", "{db}", "--json")
    try:
        report = json.loads(out)
    except json.JSONDecodeError:
        report = {}
    if code != 0 or report.get("clean") is not True:
        found = report.get("schema_differences", []) + report.get("row_differences", [])
        listed = "; ".join(json.dumps(d, ensure_ascii=False) for d in found[:10])
        cell.expect(False, f"schema validate exited {code}: {listed or err.strip()[-400:]}")
    checked = sum(report.get("rows_checked", {}).values())
    return f"schema validate: clean, {checked} rows checked"
