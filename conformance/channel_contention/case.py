"""Contention on one competing channel: consumers and publishers of both runtimes at once;
every message is delivered exactly once, none is lost and no consumer is left stuck."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import TYPE_CHECKING

from romancy.wire.status import InstanceStatus

if TYPE_CHECKING:
    from crosstest.cell import Cell  # installed: romancy.crosstest.cell

TITLE = "competing contention: exactly once, none lost, none stuck"
SENDER_MODES = ("publisher", "subscriber")
RECEIVER_MODES = ("publisher", "subscriber")

#: Messages, one per consumer (N = M), from publishers of both runtimes in turn.
MESSAGES = 6


async def run(cell: Cell) -> str:
    channel = cell.channel("contention")
    # Twelve programs start at once: on a loaded machine the early consumers must not time
    # out before the last publisher is up.
    timeout = 2 * cell.receive_timeout
    flags = {"channel": channel, "channel_mode": "competing", "timeout": timeout}
    sides = [cell.receiver, cell.sender]
    # Half the consumers wait before anything is published; the other half subscribe while
    # the publishers run, so waking a waiter and taking a pending message race each other.
    early = [
        await cell.launch(runtime, f"{runtime.name} early consumer {n}", mode="subscriber", **flags)
        for n, runtime in enumerate(sides)
    ]
    await cell.until_waiting(early)
    late = []
    publishers = []
    for n in range(MESSAGES):
        runtime = sides[n % 2]
        publishers.append(
            await cell.launch(
                runtime,
                f"{runtime.name} publisher {n}",
                mode="publisher",
                channel=channel,
                message=f"job {n}",
                data=json.dumps({"job": n}),
            )
        )
        if n >= len(early):  # one consumer more for each message beyond the early ones
            late.append(
                await cell.launch(
                    runtime, f"{runtime.name} late consumer {n}", mode="subscriber", **flags
                )
            )
    consumers = early + late
    for publisher in publishers:
        published = await publisher.result(60)
        cell.expect(published.get("published") is True, f"{publisher.label}: {published}")

    results = await asyncio.gather(
        *(c.result(timeout + 30) for c in consumers), return_exceptions=True
    )
    deliveries: Counter[int] = Counter()
    idle = []
    for consumer, result in zip(consumers, results, strict=True):
        if isinstance(result, BaseException):
            idle.append(str(result))
        elif result.get("received") is True:
            deliveries[int(result["message"]["data"]["job"])] += 1
        else:
            idle.append(f"{consumer.label}: {result.get('error')}")
    jobs = set(range(len(publishers)))
    twice = sorted(job for job, seen in deliveries.items() if seen > 1)
    lost = sorted(jobs - set(deliveries))
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
        f"{len(jobs)} messages from {len(publishers)} publishers, {len(consumers)} consumers: "
        f"{sum(deliveries.values())} deliveries, 0 twice, 0 lost, 0 stuck"
    )
