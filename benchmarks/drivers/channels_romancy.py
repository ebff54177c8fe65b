"""Channel benchmark driver for romancy (this repository); runs in /work/main/.venv.

Usage: channels_romancy.py ROLE --db URL [options]; see _channels_common.py for the roles.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from _channels_common import (
    LATENCY_CHANNEL,
    WORK_CHANNEL,
    emit,
    notify_choice,
    parse_args,
    run_latency_consumer,
    run_latency_publisher,
    run_throughput,
)
from _common import now

import romancy

LIVE: list[tuple[int, float]] = []
ARRIVED = asyncio.Event()
FINISHED: list[float] = []


@romancy.activity
async def note_latency(ctx: romancy.WorkflowContext, seq: int, sent_at: float) -> float:
    latency = time.time() - sent_at
    LIVE.append((seq, latency))
    ARRIVED.set()
    return latency


@romancy.activity
async def note_finished(ctx: romancy.WorkflowContext) -> None:
    FINISHED.append(now())


@romancy.workflow
async def chan_latency_consumer(ctx: romancy.WorkflowContext, count: int) -> list[int]:
    await romancy.subscribe(ctx, LATENCY_CHANNEL, romancy.ChannelMode.BROADCAST)
    seqs: list[int] = []
    for _ in range(count):
        message = await romancy.receive(ctx, LATENCY_CHANNEL)
        await note_latency(ctx, message.data["seq"], message.data["sent_at"])
        seqs.append(message.data["seq"])
    return seqs


@romancy.workflow
async def chan_worker(ctx: romancy.WorkflowContext, receive_timeout: int) -> dict[str, Any]:
    await romancy.subscribe(ctx, WORK_CHANNEL, romancy.ChannelMode.COMPETING)
    seqs: list[int] = []
    timeouts = 0
    while True:
        try:
            message = await romancy.receive(ctx, WORK_CHANNEL, timeout=receive_timeout)
        except romancy.ChannelMessageTimeoutError:
            timeouts += 1
            continue
        if message.data.get("stop"):
            break
        seqs.append(message.data["seq"])
    await note_finished(ctx)
    return {"seqs": seqs, "timeouts": timeouts}


def make_app(args: Any) -> romancy.App:
    options: dict[str, Any] = {"workflow_resumption_interval": args.poll_interval}
    choice = notify_choice(args)
    if choice is not None:
        options["listen_notify"] = choice
    return romancy.App(database=args.db, service_name="bench-channels", **options)


class Adapter:
    def __init__(self, app: romancy.App) -> None:
        self.app = app
        self.live = LIVE
        self.arrived = ARRIVED
        self.finished = FINISHED

    async def start_consumer(self, count: int) -> str:
        return await self.app.start_workflow(chan_latency_consumer, count)

    async def start_worker(self, receive_timeout: int) -> str:
        return await self.app.start_workflow(chan_worker, receive_timeout)

    async def status(self, instance_id: str) -> str:
        return (await self.app.get_instance(instance_id)).status

    async def publish(self, data: dict[str, Any]) -> None:
        await romancy.publish(self.app, WORK_CHANNEL, data)

    async def result(self, instance_id: str, timeout: float) -> Any:
        return await self.app.wait_for_result(instance_id, timeout=timeout)


async def latency_consumer(args: Any) -> dict[str, Any]:
    async with make_app(args) as app:
        result = await run_latency_consumer(Adapter(app), args)
    return {**result, "notify": app._notify, "poll_interval_s": args.poll_interval}


async def latency_publisher(args: Any) -> dict[str, Any]:
    # Plain code, not a worker: a Storage of its own (romancy.publish also takes a URL,
    # but that opens a connection per message).
    storage = await romancy.Storage.open(args.db, pool_size=2)
    choice = notify_choice(args)
    if choice is not None:
        storage.notify_enabled = choice and storage.dialect.name == "postgresql"
    try:

        async def publish(data: dict[str, Any]) -> None:
            await romancy.publish(storage, LATENCY_CHANNEL, data)

        result = await run_latency_publisher(publish, args)
    finally:
        await storage.close()
    return {**result, "sends_notify": storage.notify_enabled}


async def throughput(args: Any) -> dict[str, Any]:
    async with make_app(args) as app:
        result = await run_throughput(Adapter(app), args)
    return {**result, "notify": app._notify, "poll_interval_s": args.poll_interval}


ROLE_HANDLERS = {
    "latency-consumer": latency_consumer,
    "latency-publisher": latency_publisher,
    "throughput": throughput,
}


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    args = parse_args("channels_romancy")
    emit(asyncio.run(ROLE_HANDLERS[args.role](args)))


if __name__ == "__main__":
    main()
