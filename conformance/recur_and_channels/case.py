"""A subscriber that recurs after each receive keeps receiving across its recurrences:
no message lost, none twice; the runs are linked as its runtime links them."""

from __future__ import annotations

from romancy.wire.status import InstanceStatus

from .. import _case

TITLE = "a recurring subscriber loses and repeats nothing"
SENDER_MODES = ("publisher",)
RECEIVER_MODES = ("subscriber", "recur")

RECURRENCES = 2


async def run(cell: _case.Cell) -> str:
    channel = cell.channel("recur")
    subscriber = await cell.listen(
        "recurring subscriber", channel=channel, channel_mode="competing", recur=RECURRENCES
    )
    (first,) = await cell.until_waiting([subscriber])
    # All at once: the later runs must find what arrived while they were not receiving.
    jobs = list(range(RECURRENCES + 1))
    for job in jobs:
        await cell.publish(
            channel, label=f"publisher {job}", message=f"job {job}", data={"job": job}
        )
    got = await cell.received(subscriber, (cell.receive_timeout + 30) * len(jobs))
    seen = [m.get("data", {}).get("job") for m in got.get("messages", [])]
    cell.expect(sorted(seen) == jobs, f"the recurring runs received jobs {seen}, sent {jobs}")

    chain = [first]
    while (following := await cell.successor(chain[-1])) is not None:
        chain.append(following)
    statuses = await cell.statuses(chain)
    states = [statuses[i] for i in chain]
    if len(chain) == 1:
        # The runtime recurs in place (romancy, Go): one id, earlier runs' history archived.
        archived = await cell.archived(first)
        cell.expect(
            states == [InstanceStatus.COMPLETED] and archived > 0,
            f"{first} recurred in place but ended {states[0]} with {archived} archived rows",
        )
        how = "in place, its history archived"
    else:
        wanted = [InstanceStatus.RECURRED] * RECURRENCES + [InstanceStatus.COMPLETED]
        cell.expect(
            states == wanted,
            f"the chain {chain} linked by continued_from has statuses {states}, not {wanted}",
        )
        how = f"as {len(chain)} instances linked by continued_from"
    return f"{len(jobs)} jobs received once each over {RECURRENCES} recurrences, {how}"
