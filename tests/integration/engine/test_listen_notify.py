"""PostgreSQL LISTEN/NOTIFY: payloads in both peers' key styles, wake-ups, reconnection."""

from __future__ import annotations

import asyncio
import json
import time

import psycopg
import pytest

import romancy
from romancy import App, WorkflowContext
from romancy.storage import Storage
from romancy.storage.notify import Listener
from romancy.wire.notify import CHANNELS

from .helpers import eventually, wait_for_status

pytestmark = pytest.mark.backends(
    "postgresql", reason="LISTEN/NOTIFY is a PostgreSQL feature; elsewhere polling is the path"
)


@romancy.workflow
async def ln_waiter(ctx: WorkflowContext, channel: str) -> object:
    await romancy.subscribe(ctx, channel)
    return (await romancy.receive(ctx, channel)).data


@romancy.workflow
async def ln_sleeper(ctx: WorkflowContext) -> None:
    await romancy.sleep(ctx, 3600)


async def _collect(storage: Storage) -> tuple[psycopg.AsyncConnection, list[tuple[str, dict]]]:  # type: ignore[type-arg]
    conn = await psycopg.AsyncConnection.connect(storage.url.libpq_url(), autocommit=True)
    for name in CHANNELS:
        await conn.execute(f"LISTEN {name}")
    return conn, []


async def test_payloads_carry_both_key_styles(app: App) -> None:
    conn, seen = await _collect(app.storage)

    async def drain() -> None:
        async for notice in conn.notifies():
            seen.append((notice.channel, json.loads(notice.payload)))

    reader = asyncio.create_task(drain())
    try:
        waiter = await app.start_workflow(ln_waiter, "pings")
        await wait_for_status(app, waiter, "waiting_for_message")
        await romancy.publish(app, "pings", {"n": 1})
        await app.wait_for_result(waiter, timeout=20)
        sleeper = await app.start_workflow(ln_sleeper)
        await wait_for_status(app, sleeper, "waiting_for_timer")
        async with app.storage.transaction() as tx:
            await app.storage.outbox.add("evt-1", "t", "s", "{}", "application/json", tx=tx)
            from romancy.wire.notify import OUTBOX_PENDING, outbox_payload

            await app.storage.notify(OUTBOX_PENDING, outbox_payload("evt-1", "t"), tx=tx)
        await eventually(lambda: {c for c, _ in seen} >= set(CHANNELS), what="all four channels")
    finally:
        reader.cancel()
        await conn.close()
    by_channel = {channel: payload for channel, payload in seen}
    assert {"ch", "msg_id", "channel", "message_id"} <= by_channel[
        "workflow_channel_message"
    ].keys()
    resumable = by_channel["workflow_resumable"]
    assert resumable["wf_id"] == resumable["instance_id"] == waiter
    assert resumable["wf_name"] == resumable["workflow_name"] == "ln_waiter"
    assert {"evt_id", "evt_type", "event_id"} <= by_channel["workflow_outbox_pending"].keys()
    assert {"instance_id", "timer_id", "expires_at"} <= by_channel["workflow_timer_expired"].keys()


async def test_a_notify_wakes_another_worker_at_once(storage: Storage) -> None:
    # The waiting worker polls only every 60 s: only NOTIFY can explain a quick pick-up.
    slow = App(database=storage.url.original, workflow_resumption_interval=60)
    publisher = App(database=storage.url.original, worker_id="publisher")
    await slow.start()
    await publisher.start()
    try:
        publisher.engine.workflows.clear()  # it cannot run the workflow itself
        instance_id = await slow.start_workflow(ln_waiter, "wake")
        await wait_for_status(slow, instance_id, "waiting_for_message")
        await asyncio.sleep(1.5)  # let the waiting worker's poll back off
        started = time.monotonic()
        await romancy.publish(publisher, "wake", {"hello": 1})
        assert await slow.wait_for_result(instance_id, timeout=20) == {"hello": 1}
        assert time.monotonic() - started < 3
    finally:
        await publisher.shutdown()
        await slow.shutdown()


async def test_the_listener_reconnects(storage: Storage) -> None:
    notices: list[str] = []
    name = f"romancy-test-{time.monotonic_ns()}"
    listener = Listener(
        storage.url.libpq_url(), lambda c, p: notices.append(c), 0.3, application_name=name
    )
    listener.start()
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        async with await psycopg.AsyncConnection.connect(
            storage.url.libpq_url(), autocommit=True
        ) as admin:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            )
            await eventually(lambda: not listener.connected.is_set(), 10, "the drop")
            await asyncio.wait_for(listener.connected.wait(), 10)
            await admin.execute("SELECT pg_notify('workflow_resumable', '{}')")
        await eventually(lambda: "workflow_resumable" in notices, 10, "a notice after reconnecting")
    finally:
        await listener.stop()


async def test_start_returns_once_the_app_listens(storage: Storage) -> None:
    # A message published right after start() must not miss its wake-up.
    app = App(database=storage.url.original, listen_notify=True)
    async with app, storage.transaction(read_only=True) as tx:
        listening = await tx.connection.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %(name)s",
            {"name": f"romancy-listener-{app.worker_id}"[:63]},
        )
        assert listening.scalar() == 1


async def test_an_unreadable_timer_payload_keeps_the_listener_connected(storage: Storage) -> None:
    # A peer's payload with an odd "expires_at" is only a hint that is not understood:
    # dropping the connection for it would lose the notifications that follow.
    async def listener_pids() -> list[int]:
        async with storage.transaction(read_only=True) as tx:
            rows = await tx.connection.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %(name)s",
                {"name": f"romancy-listener-{app.worker_id}"[:63]},
            )
            return [row[0] for row in rows]

    app = App(database=storage.url.original, listen_notify=True)
    async with app:
        before = await listener_pids()
        async with storage.transaction() as tx:
            for payload in ('{"expires_at": 5}', "[1]", '{"expires_at": "soon"}', "not json"):
                await storage.notify("workflow_timer_expired", payload, tx=tx)
        await asyncio.sleep(1.0)
        assert len(before) == 1 and await listener_pids() == before
