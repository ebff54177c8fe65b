"""Channel rows at the storage level: which waiting subscribers a pending message is for."""

from __future__ import annotations

from sqlalchemy import update

from romancy.storage import Storage
from romancy.storage.tables import workflow_instances

from .helpers import new_instance


async def _waiting_subscriber(storage: Storage, channel: str, mode: str) -> str:
    new = new_instance()
    await storage.instances.create_instance(new)
    await storage.channels.subscribe(new.instance_id, channel, mode)
    async with storage.transaction() as tx:
        await storage.channels.wait(new.instance_id, channel, f"receive_{channel}:1", None, tx=tx)
        await tx.connection.execute(
            update(workflow_instances)
            .where(workflow_instances.c.instance_id == new.instance_id)
            .values(status="waiting_for_message")
        )
    return new.instance_id


async def _publish(storage: Storage, channel: str, message_id: str) -> int:
    return await storage.channels.insert_message(channel, message_id, "json", "{}", None, None)


async def test_missed_deliveries_judge_each_subscriber_by_its_own_cursor(
    storage: Storage,
) -> None:
    behind = await _waiting_subscriber(storage, "orders", "broadcast")
    caught_up = await _waiting_subscriber(storage, "orders", "broadcast")
    elsewhere = await _waiting_subscriber(storage, "invoices", "broadcast")
    sequence = await _publish(storage, "orders", "m-1")
    async with storage.transaction() as tx:
        await storage.channels.advance_cursors(caught_up, "orders", sequence, tx=tx)
    # Several cursor rows exist now: each subscriber's own must decide.
    missed = await storage.channels.missed_deliveries(["romancy-py"], limit=10)
    assert [m.instance_id for m in missed] == [behind]
    assert elsewhere not in {m.instance_id for m in missed}

    competing = await _waiting_subscriber(storage, "jobs", "competing")
    await _publish(storage, "jobs", "j-1")
    missed = await storage.channels.missed_deliveries(["romancy-py"], limit=10)
    assert sorted(m.instance_id for m in missed) == sorted([behind, competing])
    assert await storage.channels.missed_deliveries(["python"], limit=10) == []


async def test_missed_deliveries_leave_binary_messages_to_runtimes_that_read_them(
    storage: Storage,
) -> None:
    waiting = await _waiting_subscriber(storage, "blobs", "broadcast")
    await storage.channels.insert_message("blobs", "b-1", "binary", None, b"\x00", None)
    found = await storage.channels.missed_deliveries(["romancy-py"], limit=10)
    assert [m.instance_id for m in found] == [waiting]
    skipped = await storage.channels.missed_deliveries(
        ["romancy-py"], limit=10, no_binary_for=["romancy-py"]
    )
    assert skipped == []
