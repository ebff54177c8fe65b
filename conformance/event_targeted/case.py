"""A CloudEvent carrying a targeting extension reaches the instance it names, and no
other instance waiting for the same type."""

from __future__ import annotations

from .. import _case

TITLE = "targeted CloudEvent"
SENDER_MODES, RECEIVER_MODES = _case.SERVED_EVENTS

#: The extension each endpoint reads to target an instance waiting on the plain channel.
#: Go's ``romancyinstanceid`` addresses the ``<type>:<id>`` channel instead (docs/compat.md).
TARGET_EXTENSION = {"edda": "eddainstanceid", "romancy-py": "eddainstanceid"}


async def run(cell: _case.Cell) -> str:
    event_type = cell.channel("approval")
    chosen = await cell.listen("targeted waiter", mode="event-waiter", event_type=event_type)
    other = await cell.listen("other waiter", mode="event-waiter", event_type=event_type, timeout=8)
    chosen_id, _ = await cell.until_waiting([chosen, other])
    extension = TARGET_EXTENSION.get(cell.sender.name, "romancyinstanceid")
    event = {
        "specversion": "1.0",
        "id": f"{cell.tag}-targeted",
        "source": f"crosstest/{cell.sender.name}",
        "type": event_type,
        extension: chosen_id,
        "data": {"approved": True},
    }
    async with cell.serving(cell.sender, f"{cell.sender.name} endpoint") as url:
        await cell.post_event(url, event)
        got = await cell.received(chosen)
        passed_over = await other.result(60)
    cell.expect(got.get("message") == {"approved": True}, f"the targeted waiter got {got}")
    cell.expect(
        passed_over.get("received") is False,
        f"an instance the event did not name received it: {passed_over}",
    )
    return f"{extension} reached its instance only"
