"""The deadlines waiting instances wait for: timers and receive timeouts.

Used by ``romancy.testing`` to move time forward. Deadlines are judged on the database
clock in SQL, so "skipping" time means moving the stored deadlines earlier; the engine's
own queries then find them due. Values are computed here and written as bound
parameters, row by row (test databases are small).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, select, update

from romancy.serialization import ceil_second
from romancy.storage.execution import Store
from romancy.storage.tables import (
    channel_subscriptions,
    workflow_instances,
    workflow_timer_subscriptions,
)
from romancy.wire.status import InstanceStatus

if TYPE_CHECKING:
    from sqlalchemy import Table


_timers = workflow_timer_subscriptions
_subs = channel_subscriptions
_instances = workflow_instances

#: Statuses of an instance that is executing or about to be resumed.
_BUSY = (InstanceStatus.RUNNING, InstanceStatus.COMPENSATING)


class DeadlineStore(Store):
    """Timer expiries and receive timeouts of one framework's instances."""

    def _deadline_rows(self, framework: str) -> list[tuple[Table, Any, Any]]:
        """Per table: the table, its deadline column, and a query of (id, deadline)."""
        joined: list[tuple[Table, Any, Any]] = []
        for table, column in ((_timers, _timers.c.expires_at), (_subs, _subs.c.timeout_at)):
            query = (
                select(table.c.id, column)
                .join_from(
                    table,
                    _instances,
                    self._dialect.exact(table.c.instance_id, _instances.c.instance_id),
                )
                .where(_instances.c.framework == framework, column.is_not(None))
            )
            joined.append((table, column, query))
        return joined

    async def pull_in(self, framework: str, span: timedelta) -> int:
        """Move every deadline of ``framework``'s instances ``span`` earlier; those that
        fall within the span become due now. Returns how many deadlines moved.

        Stored deadlines keep whole seconds (a timer is rounded up), so the span's end is
        rounded up to the next whole second before deciding what falls within it.
        """
        now = datetime.now(UTC)
        cutoff = ceil_second(now + span)
        due = now.replace(microsecond=0) - timedelta(seconds=1)  # past on any clock reading
        moved = 0
        async with self._db.use(None, atomic=True) as conn:
            for table, column, query in self._deadline_rows(framework):
                for row_id, deadline in (await conn.execute(query)).all():
                    target = due if deadline <= cutoff else deadline - span
                    await conn.execute(
                        update(table).where(table.c.id == row_id).values({column.key: target})
                    )
                    moved += 1
        return moved

    async def next_deadline(self, framework: str) -> datetime | None:
        """The soonest deadline any of ``framework``'s instances waits for."""
        soonest: datetime | None = None
        async with self._db.use(None, read_only=True) as conn:
            for _table, _column, query in self._deadline_rows(framework):
                for _row_id, deadline in (await conn.execute(query)).all():
                    soonest = deadline if soonest is None else min(soonest, deadline)
        return soonest

    async def settled(self, framework: str) -> bool:
        """No instance of ``framework`` is running, and no deadline of one is due yet
        unhandled: what happens next depends on time passing or on outside input."""
        d = self._dialect
        busy = select(_instances.c.instance_id).where(
            _instances.c.framework == framework, _instances.c.status.in_(_BUSY)
        )
        checks = [exists(busy)]
        for _table, column, query in self._deadline_rows(framework):
            checks.append(exists(query.where(d.is_due(column))))
        async with self._db.use(None, read_only=True) as conn:
            for check in checks:
                if (await conn.execute(select(check))).scalar():
                    return False
        return True
