"""Instance locks and system locks: exclusion, re-entrancy, leases, peer rows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from romancy.storage import Storage
from romancy.storage.tables import system_locks, workflow_instances

from .helpers import expire_instance_lock, new_instance


async def test_one_holder_at_a_time(storage: Storage) -> None:
    new = new_instance()
    await storage.instances.create_instance(new)
    assert await storage.locks.try_lock_instance(new.instance_id, "worker-a", 300)
    assert not await storage.locks.try_lock_instance(new.instance_id, "worker-b", 300)
    assert await storage.locks.try_lock_instance(new.instance_id, "worker-a", 300)  # re-entrant
    assert not await storage.locks.unlock_instance(new.instance_id, "worker-b")
    assert await storage.locks.unlock_instance(new.instance_id, "worker-a")
    assert await storage.locks.try_lock_instance(new.instance_id, "worker-b", 300)


async def test_lease_is_set_from_the_database_clock(storage: Storage) -> None:
    new = new_instance()
    await storage.instances.create_instance(new)
    await storage.locks.try_lock_instance(new.instance_id, "w", 60)
    holder = await storage.locks.instance_lock(new.instance_id)
    assert holder is not None and holder.locked_by == "w"
    assert holder.lock_expires_at is not None
    remaining = holder.lock_expires_at - datetime.now(UTC)
    assert timedelta(seconds=50) < remaining <= timedelta(seconds=62)


async def test_expired_lease_can_be_taken_over(storage: Storage) -> None:
    new = new_instance()
    await storage.instances.create_instance(new)
    assert await storage.locks.try_lock_instance(new.instance_id, "dead-worker", 300)
    await expire_instance_lock(storage, new.instance_id)
    assert await storage.locks.try_lock_instance(new.instance_id, "worker-b", 300)
    holder = await storage.locks.instance_lock(new.instance_id)
    assert holder is not None and holder.locked_by == "worker-b"


async def test_renewal_extends_only_our_leases(storage: Storage) -> None:
    mine, taken = new_instance(), new_instance()
    for instance in (mine, taken):
        await storage.instances.create_instance(instance)
        await storage.locks.try_lock_instance(instance.instance_id, "w", 5)
    await storage.locks.unlock_instance(taken.instance_id, "w")
    await storage.locks.try_lock_instance(taken.instance_id, "other", 5)
    held = await storage.locks.renew_instance_locks("w", [mine.instance_id, taken.instance_id], 600)
    assert held == {mine.instance_id: "running"}
    holder = await storage.locks.instance_lock(mine.instance_id)
    assert holder is not None and holder.lock_expires_at is not None
    assert holder.lock_expires_at - datetime.now(UTC) > timedelta(seconds=500)
    other = await storage.locks.instance_lock(taken.instance_id)
    assert other is not None and other.lock_expires_at is not None
    assert other.lock_expires_at - datetime.now(UTC) < timedelta(seconds=10)


async def test_edda_timer_release_leaves_expiry_but_lock_is_free(storage: Storage) -> None:
    # Edda's timer-wait release clears locked_by but leaves lock_expires_at set.
    new = new_instance(framework="python")
    await storage.instances.create_instance(new)
    async with storage.transaction() as tx:
        await tx.connection.execute(
            update(workflow_instances).values(
                locked_by=None, lock_expires_at=datetime.now(UTC) + timedelta(hours=1)
            )
        )
    assert await storage.locks.try_lock_instance(new.instance_id, "w", 300)


async def test_row_lock_timeout_wins_over_ours(storage: Storage) -> None:
    new = new_instance(framework="python")
    await storage.instances.create_instance(new)
    async with storage.transaction() as tx:
        await tx.connection.execute(update(workflow_instances).values(lock_timeout_seconds=30))
    await storage.locks.try_lock_instance(new.instance_id, "w", 3600)
    holder = await storage.locks.instance_lock(new.instance_id)
    assert holder is not None and holder.lock_expires_at is not None
    assert holder.lock_expires_at - datetime.now(UTC) < timedelta(seconds=40)


async def test_concurrent_lockers_exactly_one_wins(storage: Storage) -> None:
    new = new_instance()
    await storage.instances.create_instance(new)
    results = await asyncio.gather(
        *(storage.locks.try_lock_instance(new.instance_id, f"worker-{n}", 300) for n in range(8))
    )
    assert sum(results) == 1


async def test_release_expired_locks_is_framework_scoped(storage: Storage) -> None:
    ours, edda, live = new_instance(), new_instance(framework="python"), new_instance()
    for instance in (ours, edda, live):
        await storage.instances.create_instance(instance)
        await storage.locks.try_lock_instance(instance.instance_id, "w", 300)
    await expire_instance_lock(storage, ours.instance_id)
    await expire_instance_lock(storage, edda.instance_id)
    released = await storage.locks.release_expired_locks("romancy-py")
    assert released == [(ours.instance_id, "order_workflow", "running")]
    ours_now = await storage.locks.instance_lock(ours.instance_id)
    assert ours_now is not None and ours_now.locked_by is None
    edda_now = await storage.locks.instance_lock(edda.instance_id)
    assert edda_now is not None and edda_now.locked_by == "w"
    live_now = await storage.locks.instance_lock(live.instance_id)
    assert live_now is not None and live_now.locked_by == "w"


async def test_system_lock_lifecycle(storage: Storage) -> None:
    assert await storage.locks.system_lock("romancy_py_leader") is None
    assert await storage.locks.try_system_lock("romancy_py_leader", "a", 45)
    assert not await storage.locks.try_system_lock("romancy_py_leader", "b", 45)
    assert await storage.locks.try_system_lock("romancy_py_leader", "a", 45)  # heartbeat
    holder = await storage.locks.system_lock("romancy_py_leader")
    assert holder is not None and holder.locked_by == "a"
    assert not await storage.locks.release_system_lock("romancy_py_leader", "b")
    assert await storage.locks.release_system_lock("romancy_py_leader", "a")
    assert await storage.locks.try_system_lock("romancy_py_leader", "b", 45)


async def test_system_lock_expires(storage: Storage) -> None:
    assert await storage.locks.try_system_lock("edda_leader", "edda-worker", 45)
    assert not await storage.locks.try_system_lock("edda_leader", "us", 45)
    async with storage.transaction() as tx:
        await tx.connection.execute(
            update(system_locks).values(lock_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert await storage.locks.try_system_lock("edda_leader", "us", 45)


async def test_system_lock_contenders_exactly_one_wins(storage: Storage) -> None:
    results = await asyncio.gather(
        *(storage.locks.try_system_lock("leader", f"worker-{n}", 45) for n in range(8))
    )
    assert sum(results) == 1
