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
from typing import Any

import _channels_common as common
from _common import now
from edda import EddaApp, WorkflowContext, activity, publish, receive, subscribe, workflow

EDDA_POLL_INTERVAL = 1.0


@activity
async def note_latency(ctx: WorkflowContext, seq: int, sent_at: float) -> float:
    return common.RECORD.note_latency(seq, sent_at)


@activity
async def note_finished(ctx: WorkflowContext) -> None:
    common.RECORD.note_finished()


@workflow
async def chan_latency_consumer(ctx: WorkflowContext, count: int) -> list[int]:
    await subscribe(ctx, common.LATENCY_CHANNEL, mode="broadcast")
    return await common.consume_latency(
        count,
        lambda: receive(ctx, common.LATENCY_CHANNEL),
        lambda seq, sent_at: note_latency(ctx, seq, sent_at),
    )


@workflow
async def chan_worker(ctx: WorkflowContext, receive_timeout: int) -> dict[str, Any]:
    await subscribe(ctx, common.WORK_CHANNEL, mode="competing")
    return await common.consume_work(
        lambda: receive(ctx, common.WORK_CHANNEL, timeout_seconds=receive_timeout),
        TimeoutError,
        lambda: note_finished(ctx),
    )


def make_app(args: Any) -> EddaApp:
    return EddaApp(
        service_name="bench-channels",
        db_url=args.db,
        use_listen_notify=common.notify_choice(args),
        notify_fallback_interval=args.edda_notify_fallback,
    )


class Adapter(common.AdapterBase):
    app: EddaApp

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
        await publish(self.app.storage, common.WORK_CHANNEL, data)

    async def result(self, instance_id: str, timeout: float) -> Any:
        await common.wait_status(self.status, instance_id, "completed", now() + timeout)
        instance = await self.app.storage.get_instance(instance_id)
        output = instance["output_data"]
        return output.get("result", output) if isinstance(output, dict) else output


async def with_app(loop: common.Loop, args: Any) -> dict[str, Any]:
    app = make_app(args)
    await app.initialize()
    try:
        result = await loop(Adapter(app), args)
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
            await publish(storage, common.LATENCY_CHANNEL, data)

        result = await common.run_latency_publisher(send, args)
    finally:
        if listener is not None:
            await listener.stop()
        await storage.close()
    return {**result, "sends_notify": listener is not None}


if __name__ == "__main__":
    common.serve("channels_edda", with_app, latency_publisher)
