"""Locks: instance locks (leases judged on the database clock) and named system locks.

Reached through ``Storage`` (``storage.locks``). A lease is a number of whole seconds;
an Edda row's own ``lock_timeout_seconds`` wins over ours.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Integer,
    Table,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)

from romancy.storage.connection import Transaction
from romancy.storage.execution import Store
from romancy.storage.records import LockHolder
from romancy.storage.tables import system_locks, workflow_instances

_instances = workflow_instances


def whole_seconds(seconds: float) -> int:
    """Seconds rounded up: stored timestamps may keep whole seconds, leases never shrink."""
    return int(-(-seconds // 1))


def _row_lease(column: Any) -> Any:
    """A row's own lock timeout (Edda sets one) or the ``:lease`` parameter."""
    return func.coalesce(column, bindparam("lease", type_=Integer))


class LockStore(Store):
    """Lock columns of ``workflow_instances``, and ``system_locks``."""

    async def try_lock_instance(
        self,
        instance_id: str,
        worker_id: str,
        lease_seconds: float,
        *,
        tx: Transaction | None = None,
    ) -> bool:
        """Take (or re-take) an instance lock; ``False`` when another worker holds it.

        A single conditional UPDATE judged on the database clock: the lock is free when
        nobody holds it, when it is ours, or when its lease has expired. An Edda row's own
        ``lock_timeout_seconds`` wins over ``lease_seconds``.
        """

        def build() -> Executable:
            d, c = self._dialect, _instances.c
            worker: Any = bindparam("worker_id")
            return (
                update(_instances)
                .where(
                    self._dialect.exact(c.instance_id, bindparam("p_instance_id")),
                    or_(
                        c.locked_by.is_(None),
                        c.locked_by == worker,
                        and_(c.lock_expires_at.is_not(None), d.is_past(c.lock_expires_at)),
                    ),
                )
                .values(
                    locked_by=worker,
                    locked_at=d.now(),
                    lock_expires_at=d.now_plus(_row_lease(c.lock_timeout_seconds)),
                    updated_at=d.now(),
                )
            )

        parameters = {
            "p_instance_id": instance_id,
            "worker_id": worker_id,
            "lease": whole_seconds(lease_seconds),
        }
        async with self._db.use(tx) as conn:
            return await self._db.write(conn, "lock", build, parameters) > 0

    async def renew_instance_locks(
        self, worker_id: str, instance_ids: list[str], lease_seconds: float
    ) -> dict[str, str]:
        """Extend our leases on ``instance_ids``; returns the status of each still ours.

        One UPDATE and one SELECT per batch however many instances run here; an id missing
        from the result was taken over (or vanished).
        """
        d, c = self._dialect, _instances.c
        held: dict[str, str] = {}
        for start in range(0, len(instance_ids), 500):
            batch = instance_ids[start : start + 500]
            mine = and_(c.instance_id.in_(batch), c.locked_by == worker_id)
            async with self._db.use(None) as conn:
                await conn.execute(
                    update(_instances)
                    .where(mine)
                    .values(
                        lock_expires_at=d.now_plus(
                            func.coalesce(c.lock_timeout_seconds, whole_seconds(lease_seconds))
                        )
                    )
                )
                rows = await conn.execute(select(c.instance_id, c.status).where(mine))
                held.update({row[0]: row[1] for row in rows})
        return held

    async def unlock_instance(
        self, instance_id: str, worker_id: str, *, tx: Transaction | None = None
    ) -> bool:
        """Release our lock; ``False`` when it was not ours."""

        def build() -> Executable:
            c = _instances.c
            return (
                update(_instances)
                .where(
                    self._dialect.exact(c.instance_id, bindparam("p_instance_id")),
                    c.locked_by == bindparam("worker"),
                )
                .values(
                    locked_by=None,
                    locked_at=None,
                    lock_expires_at=None,
                    updated_at=self._dialect.now(),
                )
            )

        parameters = {"p_instance_id": instance_id, "worker": worker_id}
        async with self._db.use(tx) as conn:
            return await self._db.write(conn, "unlock", build, parameters) > 0

    async def instance_lock(self, instance_id: str) -> LockHolder | None:
        """Who holds an instance's lock (``None`` when the instance does not exist)."""
        return await self._lock_holder(
            _instances, self._dialect.exact(_instances.c.instance_id, instance_id)
        )

    async def release_expired_locks(
        self, framework: str, *, limit: int = 100
    ) -> list[tuple[str, str, str]]:
        """Clear this framework's expired instance locks.

        Returns ``(instance_id, workflow_name, status)`` of each instance released, so the
        caller can resume the ones that were running.
        """
        d, c = self._dialect, _instances.c
        expired = and_(
            c.framework == framework,
            c.locked_by.is_not(None),
            c.lock_expires_at.is_not(None),
            d.is_past(c.lock_expires_at),
        )
        released: list[tuple[str, str, str]] = []
        async with self._db.use(None) as conn:
            rows = (
                await conn.execute(
                    select(c.instance_id, c.workflow_name, c.status, c.locked_by)
                    .where(expired)
                    .limit(limit)
                )
            ).all()
            for instance_id, name, status, holder in rows:
                # Compare-and-clear: a lock renewed since the SELECT stays.
                result = await conn.execute(
                    update(_instances)
                    .where(c.instance_id == instance_id, c.locked_by == holder, expired)
                    .values(locked_by=None, locked_at=None, lock_expires_at=None)
                )
                if result.rowcount:
                    released.append((instance_id, name, status))
        return released

    # ------------------------------------------------------------------- system locks

    async def try_system_lock(self, name: str, worker_id: str, lease_seconds: float) -> bool:
        """Take or renew a named lock shared by all workers (e.g. leader election)."""
        d, c = self._dialect, system_locks.c
        take = (
            update(system_locks)
            .where(
                c.lock_name == name,
                or_(
                    c.locked_by.is_(None),
                    c.locked_by == worker_id,
                    c.lock_expires_at.is_(None),
                    d.is_due(c.lock_expires_at),
                ),
            )
            .values(
                locked_by=worker_id, locked_at=d.now(), lock_expires_at=d.now_plus(lease_seconds)
            )
        )
        async with self._db.use(None) as conn:
            if (await conn.execute(take)).rowcount > 0:
                return True
        # The row may not exist yet. Create it in a transaction of its own: on MySQL an
        # INSERT IGNORE followed by an UPDATE in one transaction deadlocks with a rival.
        async with self._db.use(None) as conn:
            created = (
                await conn.execute(d.insert_ignore(system_locks).values(lock_name=name))
            ).rowcount
        if not created:
            return False
        async with self._db.use(None) as conn:
            return (await conn.execute(take)).rowcount > 0

    async def release_system_lock(self, name: str, worker_id: str) -> bool:
        """Give a named lock up; ``False`` when it was not ours."""
        c = system_locks.c
        async with self._db.use(None) as conn:
            result = await conn.execute(
                update(system_locks)
                .where(c.lock_name == name, c.locked_by == worker_id)
                .values(locked_by=None, locked_at=None, lock_expires_at=None)
            )
        return result.rowcount > 0

    async def system_lock(self, name: str) -> LockHolder | None:
        """Who holds a named lock (``None`` when the lock was never taken)."""
        return await self._lock_holder(system_locks, system_locks.c.lock_name == name)

    async def _lock_holder(self, table: Table, row: ColumnElement[bool]) -> LockHolder | None:
        """The lock columns of the one row of ``table`` that ``row`` selects."""
        query = select(table.c.locked_by, table.c.lock_expires_at).where(row)
        async with self._db.use(None, read_only=True) as conn:
            found = (await conn.execute(query)).first()
        return LockHolder(found[0], found[1]) if found is not None else None
