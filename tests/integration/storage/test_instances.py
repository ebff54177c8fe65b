"""Instances and definitions: creation, lookup, conditional updates, resumable search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from romancy import WorkflowAlreadyExistsError
from romancy.storage import Storage
from romancy.storage.tables import workflow_definitions

from .helpers import new_instance


async def test_create_and_get(storage: Storage) -> None:
    new = new_instance()
    await storage.instances.create_instance(new)
    got = await storage.instances.get_instance(new.instance_id)
    assert got is not None
    assert (got.workflow_name, got.framework, got.owner_service) == (
        "order_workflow",
        "romancy-py",
        "orders",
    )
    assert (got.status, got.input_data, got.output_data) == ("running", '{"order_id": "o-1"}', None)
    assert got.locked_by is None
    # Timestamps come from the database clock in UTC: proves the session time zone.
    assert abs(got.started_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert got.started_at.tzinfo is UTC


async def test_definition_row_is_written_once(storage: Storage) -> None:
    await storage.instances.create_instance(new_instance())
    await storage.instances.create_instance(new_instance())
    async with storage.transaction(read_only=True) as tx:
        count = await tx.connection.scalar(select(func.count()).select_from(workflow_definitions))
    assert count == 1


async def test_duplicate_id_is_an_error_and_writes_nothing(storage: Storage) -> None:
    first = new_instance(instance_id="fixed-id")
    await storage.instances.create_instance(first)
    with pytest.raises(WorkflowAlreadyExistsError, match="'fixed-id' already exists"):
        await storage.instances.create_instance(
            new_instance(instance_id="fixed-id", workflow_name="other", source_hash="h2")
        )
    got = await storage.instances.get_instance("fixed-id")
    assert got is not None and got.workflow_name == "order_workflow"
    async with storage.transaction(read_only=True) as tx:
        names = (await tx.connection.scalars(select(workflow_definitions.c.workflow_name))).all()
    assert names == ["order_workflow"]  # the failed insert's definition row rolled back


async def test_created_locked_for_the_starting_worker(storage: Storage) -> None:
    new = new_instance(locked_by="worker-a", lock_seconds=120)
    await storage.instances.create_instance(new)
    got = await storage.instances.get_instance(new.instance_id)
    assert got is not None and got.locked_by == "worker-a"
    assert got.lock_expires_at is not None
    assert timedelta(seconds=100) < got.lock_expires_at - got.started_at <= timedelta(seconds=121)


async def test_conditional_update(storage: Storage) -> None:
    new = new_instance(locked_by="worker-a")
    await storage.instances.create_instance(new)
    assert not await storage.instances.update_instance(
        new.instance_id, status="completed", only_if_status=["waiting_for_timer"]
    )
    assert not await storage.instances.update_instance(
        new.instance_id, status="completed", only_if_locked_by="worker-b"
    )
    assert await storage.instances.update_instance(
        new.instance_id,
        status="completed",
        output_data='{"ok": true}',
        only_if_status=["running"],
        only_if_locked_by="worker-a",
        release_lock=True,
    )
    got = await storage.instances.get_instance(new.instance_id)
    assert got is not None
    assert (got.status, got.output_data, got.locked_by, got.lock_expires_at) == (
        "completed",
        '{"ok": true}',
        None,
        None,
    )


async def test_status_check_constraint_rejects_unknown_status(storage: Storage) -> None:
    new = new_instance()
    await storage.instances.create_instance(new)
    with pytest.raises(DBAPIError, match=r"(?i)check|constraint"):
        await storage.instances.update_instance(new.instance_id, status="exploded")


async def test_find_resumable_is_limited_to_our_workflows_and_free_rows(storage: Storage) -> None:
    ours = new_instance()
    locked = new_instance(locked_by="someone")
    waiting = new_instance()
    edda = new_instance(framework="python")
    elsewhere = new_instance(workflow_name="defined_elsewhere")
    for instance in (ours, locked, waiting, edda, elsewhere):
        await storage.instances.create_instance(instance)
    await storage.instances.update_instance(waiting.instance_id, status="waiting_for_timer")
    found = await storage.instances.find_resumable("romancy-py", ["order_workflow"], limit=10)
    assert found == [(ours.instance_id, "order_workflow")]


@pytest.mark.backends("sqlite", reason="only SQLite stores timestamps as text")
async def test_sqlite_stores_the_peers_timestamp_layout(storage: Storage) -> None:
    new = new_instance(locked_by="w")
    await storage.instances.create_instance(new)
    async with storage.transaction(read_only=True) as tx:
        raw = (
            await tx.connection.execute(
                text("SELECT started_at, lock_expires_at FROM workflow_instances")
            )
        ).one()
    for value in raw:
        datetime.strptime(value, "%Y-%m-%d %H:%M:%S")  # no T, no fraction, no offset
