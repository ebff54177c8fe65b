"""Channel benchmark driver for romancy (this repository); runs in /work/main/.venv.

Usage: channels_romancy.py ROLE --db URL [options]; see _channels_common.py for the roles.
"""

from __future__ import annotations

from typing import Any

import _channels_common as common

import romancy


@romancy.activity
async def note_latency(ctx: romancy.WorkflowContext, seq: int, sent_at: float) -> float:
    return common.RECORD.note_latency(seq, sent_at)


@romancy.activity
async def note_finished(ctx: romancy.WorkflowContext) -> None:
    common.RECORD.note_finished()


@romancy.workflow
async def chan_latency_consumer(ctx: romancy.WorkflowContext, count: int) -> list[int]:
    await romancy.subscribe(ctx, common.LATENCY_CHANNEL, romancy.ChannelMode.BROADCAST)
    return await common.consume_latency(
        count,
        lambda: romancy.receive(ctx, common.LATENCY_CHANNEL),
        lambda seq, sent_at: note_latency(ctx, seq, sent_at),
    )


@romancy.workflow
async def chan_worker(ctx: romancy.WorkflowContext, receive_timeout: int) -> dict[str, Any]:
    await romancy.subscribe(ctx, common.WORK_CHANNEL, romancy.ChannelMode.COMPETING)
    return await common.consume_work(
        lambda: romancy.receive(ctx, common.WORK_CHANNEL, timeout=receive_timeout),
        romancy.ChannelMessageTimeoutError,
        lambda: note_finished(ctx),
    )


def make_app(args: Any) -> romancy.App:
    options: dict[str, Any] = {"workflow_resumption_interval": args.poll_interval}
    choice = common.notify_choice(args)
    if choice is not None:
        options["listen_notify"] = choice
    return romancy.App(database=args.db, service_name="bench-channels", **options)


class Adapter(common.AdapterBase):
    app: romancy.App

    async def start_consumer(self, count: int) -> str:
        return await self.app.start_workflow(chan_latency_consumer, count)

    async def start_worker(self, receive_timeout: int) -> str:
        return await self.app.start_workflow(chan_worker, receive_timeout)

    async def status(self, instance_id: str) -> str:
        return (await self.app.get_instance(instance_id)).status

    async def publish(self, data: dict[str, Any]) -> None:
        await romancy.publish(self.app, common.WORK_CHANNEL, data)

    async def result(self, instance_id: str, timeout: float) -> Any:
        return await self.app.wait_for_result(instance_id, timeout=timeout)


async def with_app(loop: common.Loop, args: Any) -> dict[str, Any]:
    async with make_app(args) as app:
        result = await loop(Adapter(app), args)
    return {**result, "notify": app._notify, "poll_interval_s": args.poll_interval}


async def latency_publisher(args: Any) -> dict[str, Any]:
    # Plain code, not a worker: a Storage of its own (romancy.publish also takes a URL,
    # but that opens a connection per message).
    storage = await romancy.Storage.open(args.db, pool_size=2)
    choice = common.notify_choice(args)
    if choice is not None:
        storage.notify_enabled = choice and storage.dialect.name == "postgresql"
    try:

        async def publish(data: dict[str, Any]) -> None:
            await romancy.publish(storage, common.LATENCY_CHANNEL, data)

        result = await common.run_latency_publisher(publish, args)
    finally:
        await storage.close()
    return {**result, "sends_notify": storage.notify_enabled}


if __name__ == "__main__":
    common.serve("channels_romancy", with_app, latency_publisher)
