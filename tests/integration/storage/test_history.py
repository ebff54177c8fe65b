"""History rows: uniqueness, binary payloads, order, paging, archive, transactions."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from romancy.errors import DuplicateRecordError
from romancy.storage import Storage
from romancy.storage.tables import workflow_history_archive

from .helpers import new_instance


async def _instance(storage: Storage) -> str:
    new = new_instance()
    await storage.instances.create_instance(new)
    return new.instance_id


async def test_append_and_load_in_write_order(storage: Storage) -> None:
    iid = await _instance(storage)
    for n in range(1, 6):
        await storage.history.append_history(iid, f"step:{n}", "ActivityCompleted", f'{{"n": {n}}}')
    rows = await storage.history.load_history(iid)
    assert [r.activity_id for r in rows] == [f"step:{n}" for n in range(1, 6)]
    assert rows[0].event_type == "ActivityCompleted" and rows[0].data_type == "json"
    assert rows[0].event_data == '{"n": 1}' and rows[0].event_data_binary is None


async def test_one_row_per_activity_id(storage: Storage) -> None:
    iid = await _instance(storage)
    assert await storage.history.append_history(iid, "step:1", "ActivityCompleted", "1")
    with pytest.raises(DuplicateRecordError):
        await storage.history.append_history(iid, "step:1", "ActivityCompleted", "2")
    assert not await storage.history.append_history(
        iid, "step:1", "ActivityCompleted", "3", ignore_duplicate=True
    )
    (row,) = await storage.history.load_history(iid)
    assert row.event_data == "1"


async def test_binary_payloads_round_trip(storage: Storage) -> None:
    iid = await _instance(storage)
    payload = bytes(range(256)) * 4
    await storage.history.append_history(iid, "receive_c:1", "ChannelMessageReceived", payload)
    (row,) = await storage.history.load_history(iid)
    assert (row.data_type, row.event_data, row.event_data_binary) == ("binary", None, payload)


async def test_paging(storage: Storage) -> None:
    iid = await _instance(storage)
    for n in range(25):
        await storage.history.append_history(iid, f"s:{n}", "ActivityCompleted", str(n))
    first = await storage.history.load_history(iid, limit=10)
    rest = await storage.history.load_history(iid, after_id=first[-1].id)
    assert [r.event_data for r in first + rest] == [str(n) for n in range(25)]


async def test_archive_moves_rows_with_their_original_time(storage: Storage) -> None:
    iid = await _instance(storage)
    other = await _instance(storage)
    await storage.history.append_history(iid, "a:1", "ActivityCompleted", '"x"')
    await storage.history.append_history(iid, "a:2", "ActivityCompleted", b"\x00\x01")
    await storage.history.append_history(other, "a:1", "ActivityCompleted", '"y"')
    original = await storage.history.load_history(iid)
    assert await storage.history.archive_history(iid) == 2
    assert await storage.history.load_history(iid) == []
    assert len(await storage.history.load_history(other)) == 1
    async with storage.transaction(read_only=True) as tx:
        archived = (
            await tx.connection.execute(
                select(workflow_history_archive).order_by(workflow_history_archive.c.id)
            )
        ).all()
    assert [(r.activity_id, r.data_type, r.event_data, r.event_data_binary) for r in archived] == [
        ("a:1", "json", '"x"', None),
        ("a:2", "binary", None, b"\x00\x01"),
    ]
    assert [r.created_at for r in archived] == [r.created_at for r in original]


async def test_transaction_commits_user_sql_with_the_step(storage: Storage) -> None:
    iid = await _instance(storage)
    async with storage.transaction() as tx:
        await tx.connection.execute(text("CREATE TABLE IF NOT EXISTS app_orders (id INTEGER)"))
    async with storage.transaction() as tx:
        await tx.connection.execute(text("INSERT INTO app_orders (id) VALUES (1)"))
        await storage.history.append_history(iid, "reserve:1", "ActivityCompleted", "true", tx=tx)
    with pytest.raises(RuntimeError):
        async with storage.transaction() as tx:
            await tx.connection.execute(text("INSERT INTO app_orders (id) VALUES (2)"))
            await storage.history.append_history(
                iid, "reserve:2", "ActivityCompleted", "true", tx=tx
            )
            raise RuntimeError("activity failed after its SQL ran")
    async with storage.transaction() as tx:
        ids = (await tx.connection.scalars(text("SELECT id FROM app_orders"))).all()
        await tx.connection.execute(text("DROP TABLE app_orders"))
    assert ids == [1]
    assert [r.activity_id for r in await storage.history.load_history(iid)] == ["reserve:1"]


async def test_concurrent_writers_of_one_activity_id(storage: Storage) -> None:
    """Two workers racing on one step: exactly one row survives (the fencing we rely on)."""
    import asyncio

    iid = await _instance(storage)
    results = await asyncio.gather(
        *(
            storage.history.append_history(
                iid, "step:1", "ActivityCompleted", str(n), ignore_duplicate=True
            )
            for n in range(6)
        )
    )
    assert sum(results) == 1
    async with storage.transaction(read_only=True) as tx:
        count = await tx.connection.scalar(text("SELECT COUNT(*) FROM workflow_history"))
    assert count == 1
