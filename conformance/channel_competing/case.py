"""Competing consumers: across both runtimes, every message is consumed exactly once."""

from __future__ import annotations

from .. import _case

TITLE = "competing consumers, exactly once"
SENDER_MODES, RECEIVER_MODES = _case.BOTH_WAYS

PER_RUNTIME = 2


async def run(cell: _case.Cell) -> str:
    channel = cell.channel("competing")
    consumers = await cell.waiting_on_both_sides(
        "consumer", PER_RUNTIME, channel=channel, channel_mode="competing"
    )

    # Both runtimes publish: as many messages as there are consumers.
    publishers = [
        await cell.start_job(runtime, channel, n)
        for n, runtime in enumerate([cell.sender, cell.receiver] * PER_RUNTIME)
    ]
    for publisher in publishers:
        await cell.sent(publisher)

    jobs = await cell.jobs_taken(consumers, cell.receive_timeout + 30)
    if jobs.failures:
        raise jobs.failures[0]
    twice, lost = jobs.twice(), jobs.lost(len(publishers))
    cell.expect(
        not twice and not lost,
        f"jobs consumed twice: {twice or 'none'}; jobs never consumed: {lost or 'none'}; "
        f"consumers left without a job: {jobs.missed or 'none'}",
    )
    return f"{len(publishers)} jobs, each consumed once by {len(consumers)} consumers"
