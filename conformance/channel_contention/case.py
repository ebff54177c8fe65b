"""Contention on one competing channel: consumers and publishers of both runtimes at once;
every message is delivered exactly once, none is lost and no consumer is left stuck."""

from __future__ import annotations

from typing import Any

from romancy.wire.status import InstanceStatus

from .. import _case

TITLE = "competing contention: exactly once, none lost, none stuck"
SENDER_MODES, RECEIVER_MODES = _case.BOTH_WAYS

#: Messages, one per consumer (N = M), from publishers of both runtimes in turn.
MESSAGES = 6


async def run(cell: _case.Cell) -> str:
    channel = cell.channel("contention")
    # Twelve programs start at once: on a loaded machine the early consumers must not time
    # out before the last publisher is up.
    timeout = 2 * cell.receive_timeout
    flags: dict[str, Any] = {"channel": channel, "channel_mode": "competing", "timeout": timeout}
    sides = [cell.receiver, cell.sender]
    # Half the consumers wait before anything is published; the other half subscribe while
    # the publishers run, so waking a waiter and taking a pending message race each other.
    early = [
        await cell.listen(f"{runtime.name} early consumer {n}", runtime=runtime, **flags)
        for n, runtime in enumerate(sides)
    ]
    await cell.until_waiting(early)
    late = []
    publishers = []
    for n in range(MESSAGES):
        runtime = sides[n % 2]
        publishers.append(await cell.start_job(runtime, channel, n))
        if n >= len(early):  # one consumer more for each message beyond the early ones
            late.append(
                await cell.listen(f"{runtime.name} late consumer {n}", runtime=runtime, **flags)
            )
    consumers = early + late
    for publisher in publishers:
        await cell.sent(publisher)

    jobs = await cell.jobs_taken(consumers, timeout + 30)
    twice, lost, idle = jobs.twice(), jobs.lost(len(publishers)), jobs.missed
    ids = [await c.instance_id() for c in consumers + publishers]
    stuck = sorted(
        f"{instance} {status}"
        for instance, status in (await cell.statuses(ids)).items()
        if status != InstanceStatus.COMPLETED
    )
    left = await cell.messages_left(channel)
    cell.expect(
        not (twice or lost or idle or stuck or left),
        f"delivered more than once: {twice or 'none'}; lost: {lost or 'none'}; "
        f"consumers without a job: {idle or 'none'}; instances stuck: {stuck or 'none'}; "
        f"messages left on the channel: {left}",
    )
    return (
        f"{len(publishers)} messages from {len(publishers)} publishers, "
        f"{len(consumers)} consumers: {sum(jobs.received.values())} deliveries, "
        "0 twice, 0 lost, 0 stuck"
    )
