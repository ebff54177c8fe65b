"""Channels between workflows: broadcast, competing and direct delivery.

    python examples/channel.py                    # SQLite in a temporary directory
    python examples/channel.py --db mysql://user:pw@localhost/romancy

* broadcast: listeners ``alice`` and ``bob`` subscribe to ``news``; each receives
  every message published there.
* direct: both also subscribe to ``inbox`` in direct mode; ``send_to`` reaches one
  instance only, so each gets just the note addressed to it.
* competing: workers ``w1`` and ``w2`` share ``jobs``; each job goes to exactly one
  of them (which one depends on who is free).

A waiting workflow holds no lock: it suspends in ``receive`` and resumes when a message
arrives. Broadcast subscribers see only what is published after they subscribed, so
each subscriber reports on the competing channel ``ready`` once subscribed, and the
producer publishes after reading every report (a competing channel keeps messages
published before anyone subscribed, so no report is lost). Watch for both listeners
reporting the same two news items and their own private note, and for jobs 1-4 each
handled exactly once across the workers.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile

import romancy
from romancy import ChannelMode, WorkflowContext

NEWS = ["romancy 1.0 released", "channels now cross runtimes"]
JOBS = [f"job-{n}" for n in range(1, 5)]
LISTENERS = ("alice", "bob")
WORKERS = ("w1", "w2")


@romancy.workflow
async def listener(ctx: WorkflowContext, name: str) -> dict[str, object]:
    await romancy.subscribe(ctx, "news", ChannelMode.BROADCAST)
    await romancy.subscribe(ctx, "inbox", ChannelMode.DIRECT)
    await romancy.publish(ctx, "ready", {"name": name})
    news = [(await romancy.receive(ctx, "news")).data["text"] for _ in NEWS]
    note = await romancy.receive(ctx, "inbox")
    return {"name": name, "news": news, "private": note.data["text"]}


@romancy.activity
async def handle(ctx: WorkflowContext, worker: str, job: str) -> str:
    print(f"  {worker} handles {job}")
    await asyncio.sleep(0.1)  # the work; meanwhile the other worker takes the next job
    return job


@romancy.workflow
async def worker(ctx: WorkflowContext, name: str) -> list[str]:
    await romancy.subscribe(ctx, "jobs", ChannelMode.COMPETING)
    await romancy.publish(ctx, "ready", {"name": name})
    done: list[str] = []
    while True:
        message = await romancy.receive(ctx, "jobs")
        if message.data.get("stop"):
            return done
        done.append(await handle(ctx, name, message.data["job"]))


@romancy.workflow
async def producer(ctx: WorkflowContext, listeners: dict[str, str]) -> int:
    await romancy.subscribe(ctx, "ready", ChannelMode.COMPETING)
    for _ in range(len(LISTENERS) + len(WORKERS)):
        await romancy.receive(ctx, "ready")  # every subscriber is in place
    for text in NEWS:
        await romancy.publish(ctx, "news", {"text": text})
    for name, instance_id in listeners.items():
        await romancy.send_to(ctx, instance_id, "inbox", {"text": f"for {name} only"})
    for job in JOBS:
        await romancy.publish(ctx, "jobs", {"job": job})
    for _ in WORKERS:  # one stop each: a competing message reaches a single worker
        await romancy.publish(ctx, "jobs", {"stop": True})
    return len(NEWS) + len(listeners) + len(JOBS) + len(WORKERS)


async def run(database: str) -> None:
    async with romancy.App(database=database, service_name="channel-example") as app:
        listeners = {name: await app.start_workflow(listener, name) for name in LISTENERS}
        workers = [await app.start_workflow(worker, name) for name in WORKERS]
        sent = await app.wait_for_result(await app.start_workflow(producer, listeners), timeout=30)
        print(f"producer published {sent} messages")
        for instance_id in listeners.values():
            result = await app.wait_for_result(instance_id, timeout=30)
            print(f"broadcast: {result['name']} received {result['news']}")
            print(f"direct:    {result['name']} received {result['private']!r}")
        for name, instance_id in zip(WORKERS, workers, strict=True):
            print(f"competing: {name} handled {await app.wait_for_result(instance_id, timeout=30)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    asyncio.run(run(args.db or f"sqlite:///{tempfile.mkdtemp()}/channel.db"))


if __name__ == "__main__":
    main()
