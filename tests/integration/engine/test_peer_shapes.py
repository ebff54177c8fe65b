"""Rows as the peers write them, read right; deliveries written as each peer reads them."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select, update

import romancy
from romancy import App, WorkflowContext
from romancy.engine.delivery import wake_waiters
from romancy.storage import NewInstance, Storage
from romancy.storage.tables import (
    channel_delivery_cursors,
    channel_message_claims,
    channel_messages,
    channel_subscriptions,
    workflow_instances,
)

from .helpers import eventually, history, wait_for_status


@romancy.workflow
async def ps_reader(ctx: WorkflowContext, spec: dict[str, str]) -> object:
    await romancy.subscribe(ctx, spec["channel"], spec.get("mode", "broadcast"))
    message = await romancy.receive(ctx, spec["channel"])
    if spec.get("twice"):
        then = await romancy.receive(ctx, spec["channel"])
        return {"data": message.data, "then": then.data}
    return {
        "id": message.id,
        "channel": message.channel_name,
        "data": message.data,
        "meta": message.metadata,
        "seq": message.sequence,
        "at": message.created_at.isoformat() if message.created_at else None,
    }


async def _waiting(app: App, spec: dict[str, str]) -> str:
    instance_id = await app.start_workflow(ps_reader, spec)
    await wait_for_status(app, instance_id, "waiting_for_message")
    return instance_id


async def _deliver_as_peer(app: App, instance_id: str, record: dict[str, object]) -> None:
    """Write a ChannelMessageReceived row the way a peer's lock-first delivery does."""
    storage = app.storage
    async with storage.transaction() as tx:
        await storage.history.append_history(
            instance_id, "receive_peer:1", "ChannelMessageReceived", json.dumps(record), tx=tx
        )
        await tx.connection.execute(
            update(channel_subscriptions)
            .where(channel_subscriptions.c.instance_id == instance_id)
            .values(activity_id=None, timeout_at=None)
        )
        await storage.instances.update_instance(instance_id, status="running", tx=tx)
    app.engine.resume_wakeup.set()


async def test_an_edda_shaped_delivery_is_read(app: App) -> None:
    instance_id = await _waiting(app, {"channel": "peer"})
    await _deliver_as_peer(
        app,
        instance_id,
        {
            "id": "7b8c-uuid",
            "channel": "peer",
            "data": {"from": "edda"},
            "metadata": {"source_instance_id": "edda-wf-1", "published_at": "x"},
            "published_at": "2026-11-25T01:28:35.123456+00:00",
        },
    )
    result = await app.wait_for_result(instance_id, timeout=30)
    assert result == {
        "id": "7b8c-uuid",
        "channel": "peer",
        "data": {"from": "edda"},
        "meta": {"source_instance_id": "edda-wf-1", "published_at": "x"},
        "seq": None,
        "at": "2026-11-25T01:28:35.123456+00:00",
    }


async def test_a_go_shaped_delivery_is_read(app: App) -> None:
    instance_id = await _waiting(app, {"channel": "peer"})
    await _deliver_as_peer(
        app,
        instance_id,
        {
            "id": 42,
            "channel_name": "peer",
            "created_at": "0001-01-01T00:00:00Z",
            "data": {"from": "go"},
        },
    )
    result = await app.wait_for_result(instance_id, timeout=30)
    assert result == {
        "id": "42",
        "channel": "peer",
        "data": {"from": "go"},
        "meta": {},
        "seq": 42,
        "at": None,
    }  # Go's zero time means "unknown"


async def test_cursor_is_the_larger_of_both_stores(app: App) -> None:
    storage = app.storage
    for n in range(3):
        await storage.channels.insert_message(
            "both", f"m-{n}", "json", json.dumps({"n": n}), None, None
        )
    instance_id = await app.start_workflow(ps_reader, {"channel": "both", "twice": "yes"})
    await wait_for_status(app, instance_id, "waiting_for_message")  # started after m-2
    # Edda's store says "consumed up to the first message"; Go's is further: m-2 seen.
    async with storage.transaction() as tx:
        ids = (
            await tx.connection.scalars(
                select(channel_messages.c.id).order_by(channel_messages.c.id)
            )
        ).all()
        await tx.connection.execute(update(channel_subscriptions).values(cursor_message_id=ids[0]))
        await tx.connection.execute(
            update(channel_delivery_cursors).values(last_delivered_id=ids[2])
        )
    await romancy.publish(app, "both", {"n": 3})
    await eventually(lambda: _received_count(storage, instance_id))
    async with storage.transaction(read_only=True) as tx:
        edda = await tx.connection.scalar(select(channel_subscriptions.c.cursor_message_id))
        go = await tx.connection.scalar(select(channel_delivery_cursors.c.last_delivered_id))
    assert edda == go and edda > ids[2]  # both stores advanced together, past the max
    await romancy.publish(app, "both", {"n": 4})
    result = await app.wait_for_result(instance_id, timeout=30)
    assert [result["data"], result["then"]] == [{"n": 3}, {"n": 4}]


async def _received_count(storage: Storage, instance_id: str) -> bool:
    history = await storage.history.load_history(instance_id)
    return any(r.event_type == "ChannelMessageReceived" for r in history)


async def _foreign_waiter(storage: Storage, framework: str, channel: str, mode: str) -> str:
    instance_id = f"{framework}-{uuid.uuid4().hex}"
    await storage.instances.create_instance(
        NewInstance(
            instance_id=instance_id,
            workflow_name="peer_wf",
            source_hash="h",
            source_code="",
            owner_service="peer",
            framework=framework,
            input_data="{}",
        )
    )
    await storage.channels.subscribe(instance_id, channel, mode)
    async with storage.transaction() as tx:
        await storage.channels.wait(instance_id, channel, "receive_x:1", None, tx=tx)
        await storage.instances.update_instance(instance_id, status="waiting_for_message", tx=tx)
    return instance_id


async def test_deliveries_into_peer_instances_use_their_layout(app: App) -> None:
    storage = app.storage
    edda = await _foreign_waiter(storage, "python", "shared", "broadcast")
    go = await _foreign_waiter(storage, "go", "shared", "broadcast")
    message_id = await romancy.publish(app, "shared", {"k": "v"}, metadata={"m": 1})
    await eventually(lambda: _received_count(storage, edda), what="the delivery into Edda")
    edda_row, go_row = (await history(app, edda))[0], (await history(app, go))[0]
    edda_data, go_data = json.loads(edda_row.event_data or ""), json.loads(go_row.event_data or "")
    assert edda_row.event_type == go_row.event_type == "ChannelMessageReceived"
    assert (edda_data["id"], edda_data["channel"], edda_data["data"]) == (
        message_id,
        "shared",
        {"k": "v"},
    )
    assert edda_data["published_at"].endswith("+00:00")
    assert isinstance(go_data["id"], int) and go_data["channel_name"] == "shared"
    assert go_data["metadata"] == {"m": 1} and go_data["created_at"].endswith("Z")
    async with storage.transaction(read_only=True) as tx:
        statuses = dict(
            (
                await tx.connection.execute(
                    select(workflow_instances.c.instance_id, workflow_instances.c.status).where(
                        workflow_instances.c.instance_id.in_([edda, go])
                    )
                )
            ).all()
        )
        cursors = dict(
            (
                await tx.connection.execute(
                    select(
                        channel_subscriptions.c.instance_id,
                        channel_subscriptions.c.cursor_message_id,
                    )
                )
            ).all()
        )
        go_cursors = dict(
            (
                await tx.connection.execute(
                    select(
                        channel_delivery_cursors.c.instance_id,
                        channel_delivery_cursors.c.last_delivered_id,
                    )
                )
            ).all()
        )
    assert statuses == {edda: "running", go: "running"}
    assert cursors[edda] == go_cursors[edda] == cursors[go] == go_cursors[go] == go_data["id"]


async def test_competing_delivery_claims_by_text_id_and_deletes(app: App) -> None:
    storage = app.storage
    waiter = await _foreign_waiter(storage, "python", "work", "competing")
    message_id = await romancy.publish(app, "work", {"job": 1})
    # Delivered by the publisher, or by the leader's missed-delivery check racing it.
    await eventually(lambda: _received_count(storage, waiter), what="the delivery")
    row = (await history(app, waiter))[0]
    assert json.loads(row.event_data or "")["id"] == message_id
    async with storage.transaction(read_only=True) as tx:
        assert (await tx.connection.scalars(select(channel_messages.c.message_id))).all() == []
        claims = (await tx.connection.scalars(select(channel_message_claims.c.message_id))).all()
    # SQLite keeps the claim (no cascade there); the servers cascade it away with the row.
    assert claims == ([message_id] if storage.url.dialect == "sqlite" else [])


async def test_a_late_claim_on_a_consumed_message_loses(app: App) -> None:
    # A consumer that read the message as pending before another one consumed it must
    # not take it too: its claim meets the kept claim (SQLite) or a missing parent row.
    storage = app.storage
    first, late = [await _foreign_waiter(storage, "python", "idle", "competing") for _ in "ab"]
    await storage.channels.insert_message("jobs", "m-late", "json", "{}", None, None)
    async with storage.transaction() as tx:
        pending = await storage.channels.next_message("jobs", "competing", 0, tx=tx)
    assert pending is not None
    async with storage.transaction() as tx:
        assert await storage.channels.take(first, "jobs", "competing", pending, tx=tx)
    async with storage.transaction() as tx:
        assert not await storage.channels.take(late, "jobs", "competing", pending, tx=tx)


async def test_binary_messages_are_never_delivered_to_edda(app: App) -> None:
    storage = app.storage
    waiter = await _foreign_waiter(storage, "python", "bin", "broadcast")
    await romancy.publish(app, "bin", b"\x00\x01raw")
    assert await history(app, waiter) == []  # Edda's replay would crash on a binary row
    assert (await storage.instances.get_instance(waiter)).status == "waiting_for_message"  # type: ignore[union-attr]


async def test_a_cancelled_instance_is_not_revived_by_a_delivery(app: App) -> None:
    storage = app.storage
    waiter = await _foreign_waiter(storage, "go", "late", "broadcast")
    await storage.instances.update_instance(waiter, status="cancelled")
    await storage.channels.insert_message("late", "m-late", "json", "{}", None, None)
    assert await wake_waiters(storage, "w", "late") == []
    assert (await storage.instances.get_instance(waiter)).status == "cancelled"  # type: ignore[union-attr]


async def test_a_missed_wake_up_of_an_edda_instance_is_made_good(app: App) -> None:
    # Edda looks for pending messages only when its receive starts (docs/channels.md):
    # a message stored while it already waited, with no wake-up, would wait forever.
    storage = app.storage
    waiter = await _foreign_waiter(storage, "python", "quiet", "competing")
    await storage.channels.insert_message("quiet", "m-quiet", "json", '{"n": 1}', None, None)
    app.engine.message_deadlines.wakeup.set()
    await eventually(lambda: _received_count(storage, waiter), what="the leader's delivery")
    (record,) = [r for r in await history(app, waiter) if r.event_type == "ChannelMessageReceived"]
    assert json.loads(record.event_data or "")["id"] == "m-quiet"  # Edda's layout: text id
    assert (await storage.instances.get_instance(waiter)).status == "running"  # type: ignore[union-attr]
