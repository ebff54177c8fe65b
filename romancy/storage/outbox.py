"""The transactional outbox table: written in an activity's transaction, drained by the
relayer. Reached as ``storage.outbox``.

Rows are claimed (``processing``) before they are sent, under ``FOR UPDATE SKIP LOCKED``
where the dialect has it (SQLite's single writer serialises claimers), so two relayers
never send one event. While a row is ``processing``, and between retries, its
``published_at`` holds the time of the claim or last attempt: that is how a row abandoned
by a dead relayer is reclaimed, and how retries back off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import and_, case, insert, literal, or_, select, update

from romancy.storage.records import OutboxRecord
from romancy.storage.tables import outbox_events

if TYPE_CHECKING:
    from romancy.storage.sql import Storage, Transaction

_out = outbox_events
#: Longest pause between two attempts at one event (Go's relayer: 30 s).
MAX_BACKOFF = 30


class OutboxStore:
    """Queries on ``outbox_events``."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._dialect = storage.dialect

    async def add(
        self,
        event_id: str,
        event_type: str,
        event_source: str,
        data: str | bytes,
        content_type: str,
        *,
        tx: Transaction | None = None,
    ) -> None:
        """Queue an event (status ``pending``)."""
        binary = isinstance(data, bytes)
        statement = insert(_out).values(
            event_id=event_id,
            event_type=event_type,
            event_source=event_source,
            data_type="binary" if binary else "json",
            event_data=None if binary else data,
            event_data_binary=data if binary else None,
            content_type=content_type,
            status="pending",
            retry_count=0,
        )
        async with self._storage._use(tx) as conn:
            await conn.execute(statement)

    async def claim(self, limit: int, claim_timeout: float) -> list[OutboxRecord]:
        """Take up to ``limit`` events to send: pending ones whose backoff has passed, and
        ``processing`` ones abandoned for longer than ``claim_timeout`` seconds."""
        d, c = self._dialect, _out.c
        attempted = d.timestamp(c.published_at)
        retries = c.retry_count
        backoff = case((retries * 2 > MAX_BACKOFF, literal(MAX_BACKOFF)), else_=retries * 2)
        due = or_(
            and_(
                c.status == "pending",
                or_(c.published_at.is_(None), attempted <= d.now_plus(-backoff)),
            ),
            and_(c.status == "processing", attempted <= d.now_plus(-claim_timeout)),
        )
        query = (
            select(
                c.event_id,
                c.event_type,
                c.event_source,
                c.data_type,
                c.event_data,
                c.event_data_binary,
                c.content_type,
                c.created_at,
                c.retry_count,
            )
            .where(due)
            .order_by(c.created_at, c.event_id)
            .limit(limit)
        )
        if d.supports_skip_locked:
            query = query.with_for_update(skip_locked=True)
        async with self._storage._use(None, atomic=True) as conn:
            rows = [OutboxRecord(*row[:8], row[8] or 0) for row in await conn.execute(query)]
            if rows:
                await conn.execute(
                    update(_out)
                    .where(c.event_id.in_([r.event_id for r in rows]))
                    .values(status="processing", published_at=d.now())
                )
        return rows

    async def published(self, event_id: str) -> None:
        await self._set(
            event_id, status="published", published_at=self._dialect.now(), last_error=None
        )

    async def retry_later(self, event_id: str, error: str, *, give_up: bool) -> None:
        """Count a failed attempt; ``failed`` for good when ``give_up``."""
        await self._set(
            event_id,
            status="failed" if give_up else "pending",
            retry_count=_out.c.retry_count + 1,
            last_error=error[:2000],
            published_at=self._dialect.now(),
        )

    async def invalid(self, event_id: str, error: str) -> None:
        """The broker rejected the event itself (4xx): never retried."""
        await self._set(event_id, status="invalid", last_error=error[:2000], published_at=None)

    async def _set(self, event_id: str, **values: object) -> None:
        async with self._storage._use(None) as conn:
            await conn.execute(update(_out).where(_out.c.event_id == event_id).values(**values))
