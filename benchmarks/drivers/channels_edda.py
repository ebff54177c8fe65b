"""Channel benchmark driver for Edda (edda-framework 0.16.2); runs in .venvs/edda.

Usage: channels_edda.py ROLE --db URL [options]; see _channels_common.py for the roles.
The URL must name an async SQLAlchemy driver (sqlite+aiosqlite, postgresql+asyncpg,
mysql+aiomysql).

Edda has no setting for its polling interval: the resumption loop of ``EddaApp`` checks
every 1 s (backing off to 2, 4, ... 32 s while it finds nothing). With NOTIFY on it waits
for a notification or ``notify_fallback_interval`` (default 30 s; ``--edda-notify-fallback``).
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
    wait_status,
)
from _common import now
from edda import EddaApp, WorkflowContext, activity, publish, receive, subscribe, workflow

LIVE: list[tuple[int, float]] = []
ARRIVED = asyncio.Event()
FINISHED: list[float] = []
EDDA_POLL_INTERVAL = 1.0


@activity
async def note_latency(ctx: WorkflowContext, seq: int, sent_at: float) -> float:
    latency = time.time() - sent_at
    LIVE.append((seq, latency))
    ARRIVED.set()
    return latency


@activity
async def note_finished(ctx: WorkflowContext) -> None:
    FINISHED.append(now())


@workflow
async def chan_latency_consumer(ctx: WorkflowContext, count: int) -> list[int]:
    await subscribe(ctx, LATENCY_CHANNEL, mode="broadcast")
    seqs: list[int] = []
    for _ in range(count):
        message = await receive(ctx, LATENCY_CHANNEL)
        await note_latency(ctx, message.data["seq"], message.data["sent_at"])
        seqs.append(message.data["seq"])
    return seqs


@workflow
async def chan_worker(ctx: WorkflowContext, receive_timeout: int) -> dict[str, Any]:
    await subscribe(ctx, WORK_CHANNEL, mode="competing")
    seqs: list[int] = []
    timeouts = 0
    while True:
        try:
            message = await receive(ctx, WORK_CHANNEL, timeout_seconds=receive_timeout)
        except TimeoutError:
            timeouts += 1
            continue
        if message.data.get("stop"):
            break
        seqs.append(message.data["seq"])
    await note_finished(ctx)
    return {"seqs": seqs, "timeouts": timeouts}


def make_app(args: Any) -> EddaApp:
    return EddaApp(
        service_name="bench-channels",
        db_url=args.db,
        use_listen_notify=notify_choice(args),
        notify_fallback_interval=args.edda_notify_fallback,
    )


class Adapter:
    def __init__(self, app: EddaApp) -> None:
        self.app = app
        self.live = LIVE
        self.arrived = ARRIVED
        self.finished = FINISHED

    async def start_consumer(self, count: int) -> str:
        return str(await chan_latency_consumer.start(count=count))

    async def start_worker(self, receive_timeout: int) -> str:
        # Edda writes a workflow's definition row check-then-insert: the first starts of
        # one workflow made at the same time collide on its key; the losers try again.
        from sqlalchemy.exc import IntegrityError

        for attempt in range(3):
            try:
                return str(await chan_worker.start(receive_timeout=receive_timeout))
            except IntegrityError:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.05)
        raise AssertionError("the loop returns or raises")

    async def status(self, instance_id: str) -> str:
        instance = await self.app.storage.get_instance(instance_id)
        return "missing" if instance is None else str(instance["status"])

    async def publish(self, data: dict[str, Any]) -> None:
        await publish(self.app.storage, WORK_CHANNEL, data)

    async def result(self, instance_id: str, timeout: float) -> Any:
        await wait_status(self.status, instance_id, "completed", now() + timeout)
        instance = await self.app.storage.get_instance(instance_id)
        output = instance["output_data"]
        return output.get("result", output) if isinstance(output, dict) else output


async def latency_consumer(args: Any) -> dict[str, Any]:
    app = make_app(args)
    await app.initialize()
    try:
        result = await run_latency_consumer(Adapter(app), args)
        notify = app._notify_enabled
    finally:
        await app.shutdown()
    return {**result, "notify": notify, "poll_interval_s": EDDA_POLL_INTERVAL}


async def latency_publisher(args: Any) -> dict[str, Any]:
    # Plain code, not a worker. The storage is built by EddaApp's constructor (same engine
    # settings), without initialize(): no background loops here that could take the
    # consumer's instance lock. Edda's storage sends NOTIFY only once a listener is set,
    # so with NOTIFY on the publisher attaches one, as initialize() would.
    app = make_app(args)
    storage = app.storage
    listener = None
    if args.notify != "off" and args.db.startswith("postgresql"):
        from edda.storage.pg_notify import PostgresNotifyListener

        listener = PostgresNotifyListener(dsn=args.db.replace("+asyncpg", ""))
        await listener.start()
        storage.set_notify_listener(listener)
    try:

        async def send(data: dict[str, Any]) -> None:
            await publish(storage, LATENCY_CHANNEL, data)

        result = await run_latency_publisher(send, args)
    finally:
        if listener is not None:
            await listener.stop()
        await storage.close()
    return {**result, "sends_notify": listener is not None}


async def throughput(args: Any) -> dict[str, Any]:
    app = make_app(args)
    await app.initialize()
    try:
        result = await run_throughput(Adapter(app), args)
        notify = app._notify_enabled
    finally:
        await app.shutdown()
    return {**result, "notify": notify, "poll_interval_s": EDDA_POLL_INTERVAL}


ROLE_HANDLERS = {
    "latency-consumer": latency_consumer,
    "latency-publisher": latency_publisher,
    "throughput": throughput,
}


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    args = parse_args("channels_edda")
    emit(asyncio.run(ROLE_HANDLERS[args.role](args)))


if __name__ == "__main__":
    main()
