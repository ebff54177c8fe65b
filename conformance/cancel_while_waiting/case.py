"""An instance waiting for a message, cancelled over the other runtime's HTTP endpoint,
stays cancelled: a later message is neither recorded into it nor lost for others."""

from __future__ import annotations

from romancy.wire.status import InstanceStatus

from .. import _case

TITLE = "cancelled while waiting, and not revived"
SENDER_MODES = ("serve", "publisher")
RECEIVER_MODES = ("subscriber",)


async def run(cell: _case.Cell) -> str:
    channel = cell.channel("cancel")
    waiter = await cell.listen("waiting consumer", channel=channel, channel_mode="competing")
    (instance_id,) = await cell.until_waiting([waiter])

    async with cell.serving(cell.sender, f"{cell.sender.name} endpoint") as url:
        await cell.cancel_over_http(url, instance_id)
    await cell.eventually(
        lambda: cell.statuses([instance_id]),
        lambda found: found.get(instance_id) == InstanceStatus.CANCELLED,
        20,
        f"{instance_id} to be stored cancelled",
    )
    try:
        got = await waiter.result(30)
    except Exception as ended:  # a cancelled run ends its program with an error
        cell.expect("cancel" in str(ended).lower(), f"the waiting program ended with: {ended}")
    else:
        cell.expect(False, f"the cancelled instance's program still reported {got}")
    recorded = len(await cell.storage.history.load_history(instance_id))

    # A message after the cancel: the cancelled instance must not take it; a new consumer does.
    await cell.publish(channel, message="late")
    later = await cell.listen("later consumer", channel=channel, channel_mode="competing")
    got = await cell.received(later)
    cell.expect(
        (got.get("message") or {}).get("text") == "late",
        f"the later consumer got {got.get('message')}",
    )
    status = (await cell.statuses([instance_id])).get(instance_id)
    after = len(await cell.storage.history.load_history(instance_id))
    cell.expect(
        status == InstanceStatus.CANCELLED and after == recorded,
        f"after a later publish the cancelled {instance_id} is {status} with "
        f"{after - recorded} more history rows",
    )
    return f"{cell.sender.name} cancelled {cell.receiver.name}'s waiter; the late message went on"
