"""The replay log and what hangs off it: history rows, timers and compensations.

Reached through ``Storage`` (``storage.history``). Appending a history row is the
hottest write of all: a cached statement on the fast write path, and concurrent appends
share one statement (group commit).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Executable, bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from romancy.storage.connection import Database, Transaction
from romancy.storage.execution import Store
from romancy.storage.payload_columns import payload_columns
from romancy.storage.records import CompensationRecord, HistoryRecord, TimerRecord
from romancy.storage.tables import (
    workflow_compensations,
    workflow_history,
    workflow_history_archive,
    workflow_instances,
    workflow_timer_subscriptions,
)
from romancy.wire.status import InstanceStatus

_instances = workflow_instances
_history = workflow_history
_timers = workflow_timer_subscriptions
_comps = workflow_compensations

#: Columns of a history row written by ``append_history`` (the id and created_at are the
#: database's defaults).
_HISTORY_COLUMNS = tuple(c.name for c in _history.c if c.name not in ("id", "created_at"))


class HistoryStore(Store):
    """Rows of ``workflow_history`` (and its archive), timers and compensations."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._history_writer = self._group_writer(partial(self._append, ignore_duplicate=False))

    async def append_history(
        self,
        instance_id: str,
        activity_id: str,
        event_type: str,
        data: str | bytes,
        *,
        ignore_duplicate: bool = False,
        tx: Transaction | None = None,
    ) -> bool:
        """Record one history event: ``str`` is JSON text, ``bytes`` a binary payload.

        The (instance, activity id) pair is unique: a second write raises
        :class:`~romancy.errors.DuplicateRecordError`, or returns ``False`` with
        ``ignore_duplicate``.
        """

        data_type, text, binary = payload_columns(data)
        parameters = {
            "p_instance_id": instance_id,
            "p_activity_id": activity_id,
            "p_event_type": event_type,
            "p_data_type": data_type,
            "p_event_data": text,
            "p_event_data_binary": binary,
        }
        if tx is None and not ignore_duplicate:
            await self._history_writer.write(parameters)  # shares a statement with others
            return True
        async with self._db.use(tx) as conn:
            return await self._append(conn, parameters, ignore_duplicate=ignore_duplicate) > 0

    async def _append(
        self,
        conn: AsyncConnection,
        parameters: dict[str, Any] | list[dict[str, Any]],
        *,
        ignore_duplicate: bool,
    ) -> int:
        # created_at comes from the column default (the database clock, UTC sessions).
        def build() -> Executable:
            statement = (
                self._dialect.insert_ignore(_history) if ignore_duplicate else insert(_history)
            )
            return statement.values({name: bindparam(f"p_{name}") for name in _HISTORY_COLUMNS})

        return await self._db.write(conn, ("append", ignore_duplicate), build, parameters)

    async def load_history(
        self,
        instance_id: str,
        *,
        after_id: int = 0,
        limit: int | None = None,
        tx: Transaction | None = None,
    ) -> list[HistoryRecord]:
        """History rows of an instance in write order (by id), optionally paged."""

        def build() -> Executable:
            h = _history.c
            query = (
                select(_history)
                .where(
                    self._dialect.exact(h.instance_id, bindparam("instance_id")),
                    h.id > bindparam("after_id"),
                )
                .order_by(h.id)
            )
            return query.limit(bindparam("limit")) if limit is not None else query

        parameters: dict[str, Any] = {"instance_id": instance_id, "after_id": after_id}
        if limit is not None:
            parameters["limit"] = limit
        statement = self._db.cached(("history", limit is not None), build)
        async with self._db.use(tx, read_only=True) as conn:
            return [HistoryRecord(*row) for row in await conn.execute(statement, parameters)]

    async def archive_history(self, instance_id: str, *, tx: Transaction | None = None) -> int:
        """Move an instance's history to ``workflow_history_archive``; returns the row count."""
        h, a = _history.c, workflow_history_archive
        copy = insert(a).from_select(
            [*_HISTORY_COLUMNS, "created_at", "archived_at"],
            select(*(h[name] for name in _HISTORY_COLUMNS), h.created_at, self._dialect.now())
            .where(self._dialect.exact(h.instance_id, instance_id))
            .order_by(h.id),
        )
        async with self._db.use(tx, atomic=True) as conn:
            await conn.execute(copy)
            result = await conn.execute(
                delete(_history).where(self._dialect.exact(h.instance_id, instance_id))
            )
        return result.rowcount

    # ------------------------------------------------------------------------- timers

    async def add_timer(
        self,
        instance_id: str,
        timer_id: str,
        expires_at: datetime,
        *,
        activity_id: str | None = None,
        tx: Transaction | None = None,
    ) -> bool:
        """Register a timer; ``False`` when that timer id already exists for the instance."""
        statement = self._dialect.insert_ignore(_timers).values(
            instance_id=instance_id,
            timer_id=timer_id,
            expires_at=expires_at,
            activity_id=activity_id,
            created_at=self._dialect.now(),
        )
        async with self._db.use(tx) as conn:
            return (await conn.execute(statement)).rowcount > 0

    async def find_due_timers(
        self, framework: str, *, limit: int, tx: Transaction | None = None
    ) -> list[TimerRecord]:
        """This framework's expired timers of instances waiting for a timer, oldest first."""
        t, i = _timers.c, _instances.c
        query = (
            select(t.instance_id, i.workflow_name, t.timer_id, t.expires_at, t.activity_id)
            .join_from(_timers, _instances, self._dialect.exact(t.instance_id, i.instance_id))
            .where(
                i.framework == framework,
                i.status == InstanceStatus.WAITING_FOR_TIMER,
                self._dialect.is_due(t.expires_at),
            )
            .order_by(t.expires_at)
            .limit(limit)
        )
        async with self._db.use(tx, read_only=True) as conn:
            return [TimerRecord(*row) for row in await conn.execute(query)]

    async def delete_timers(
        self, instance_id: str, timer_id: str | None = None, *, tx: Transaction | None = None
    ) -> int:
        """Delete one timer of an instance, or all of them when ``timer_id`` is ``None``."""
        conditions = [self._dialect.exact(_timers.c.instance_id, instance_id)]
        if timer_id is not None:
            conditions.append(self._dialect.exact(_timers.c.timer_id, timer_id))
        async with self._db.use(tx) as conn:
            return (await conn.execute(delete(_timers).where(*conditions))).rowcount

    # ------------------------------------------------------------------ compensations

    async def add_compensation(
        self,
        instance_id: str,
        activity_id: str,
        activity_name: str,
        args: str,
        *,
        tx: Transaction | None = None,
    ) -> int:
        """Register a compensation; returns its id."""
        return await self._insert_id(
            _comps,
            tx,
            instance_id=instance_id,
            activity_id=activity_id,
            activity_name=activity_name,
            args=args,
            created_at=self._dialect.now(),
        )

    async def list_compensations(
        self, instance_id: str, *, tx: Transaction | None = None
    ) -> list[CompensationRecord]:
        """An instance's compensations, most recent first (the order to run them in)."""
        query = (
            select(_comps)
            .where(self._dialect.exact(_comps.c.instance_id, instance_id))
            .order_by(_comps.c.created_at.desc(), _comps.c.id.desc())
        )
        async with self._db.use(tx, read_only=True) as conn:
            return [CompensationRecord(*row) for row in await conn.execute(query)]

    async def delete_compensations(self, instance_id: str, *, tx: Transaction | None = None) -> int:
        """Forget an instance's compensations (after recur)."""
        async with self._db.use(tx) as conn:
            result = await conn.execute(
                delete(_comps).where(self._dialect.exact(_comps.c.instance_id, instance_id))
            )
        return result.rowcount
