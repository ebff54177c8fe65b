"""Shared builders for storage tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from romancy.storage import NewInstance, Storage
from romancy.storage.tables import workflow_instances


def new_instance(**overrides: object) -> NewInstance:
    values: dict[str, object] = {
        "instance_id": str(uuid.uuid4()),
        "workflow_name": "order_workflow",
        "source_hash": "hash-1",
        "source_code": "async def order_workflow(ctx, order): ...",
        "owner_service": "orders",
        "framework": "romancy-py",
        "input_data": '{"order_id": "o-1"}',
    }
    values.update(overrides)
    return NewInstance(**values)  # type: ignore[arg-type]


async def expire_instance_lock(storage: Storage, instance_id: str) -> None:
    """Move an instance's lease into the past, as if its holder had died long ago."""
    await backdate(storage, instance_id, "lock_expires_at", timedelta(minutes=5))


async def backdate(storage: Storage, instance_id: str, column: str, by: timedelta) -> None:
    """Set an instance's timestamp ``column`` to ``by`` before now."""
    async with storage.transaction() as tx:
        await tx.connection.execute(
            update(workflow_instances)
            .where(workflow_instances.c.instance_id == instance_id)
            .values({column: datetime.now(UTC) - by})
        )
