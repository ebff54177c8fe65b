"""Competing consumers: across both runtimes, every message is consumed exactly once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crosstest.cell import Cell  # installed: romancy.crosstest.cell

TITLE = "competing consumers, exactly once"
SENDER_MODES = ("publisher", "subscriber")
RECEIVER_MODES = ("publisher", "subscriber")

PER_RUNTIME = 2


async def run(cell: Cell) -> str:
    channel = cell.channel("competing")
    flags = {"channel": channel, "channel_mode": "competing", "timeout": cell.receive_timeout}
    consumers = await cell.subscribe_many(cell.receiver, "receiver consumer", PER_RUNTIME, **flags)
    consumers += await cell.subscribe_many(cell.sender, "sender consumer", PER_RUNTIME, **flags)
    await cell.until_waiting(consumers)

    # Both runtimes publish: as many messages as there are consumers.
    publishers = [
        await cell.launch(
            runtime,
            f"{runtime.name} publisher {n}",
            mode="publisher",
            channel=channel,
            message=f"job {n}",
            data=json.dumps({"job": n}),
        )
        for n, runtime in enumerate([cell.sender, cell.receiver] * PER_RUNTIME)
    ]
    for publisher in publishers:
        published = await publisher.result(60)
        cell.expect(published.get("published") is True, f"{publisher.label}: {published}")

    results = await asyncio.gather(
        *(c.result(cell.receive_timeout + 30) for c in consumers), return_exceptions=True
    )
    jobs: Counter[int] = Counter()
    idle = []
    for consumer, result in zip(consumers, results, strict=True):
        if isinstance(result, BaseException):
            raise result
        if result.get("received") is True:
            jobs[int(result["message"]["data"]["job"])] += 1
        else:
            idle.append(consumer.label)
    expected = set(range(len(publishers)))
    twice = sorted(job for job, seen in jobs.items() if seen > 1)
    lost = sorted(expected - set(jobs))
    cell.expect(
        not twice and not lost,
        f"jobs consumed twice: {twice or 'none'}; jobs never consumed: {lost or 'none'}; "
        f"consumers left without a job: {idle or 'none'}",
    )
    return f"{len(expected)} jobs, each consumed once by {len(consumers)} consumers"
