"""The transactional outbox table: written in an activity's transaction, drained by the
relayer. Reached as ``storage.outbox``.

Rows are claimed (``processing``) before they are sent, under ``FOR UPDATE SKIP LOCKED``
where the dialect has it (SQLite's single writer serialises claimers), so two relayers
never send one event. While a row is ``processing``, and between retries, its
``published_at`` holds the time of the claim or last attempt: that is how a row abandoned
by a dead relayer is reclaimed, and how retries back off.

``failed``, ``invalid`` and ``expired`` rows are never sent again by a relayer; an
operator puts them back with :meth:`OutboxStore.retry_events`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, insert, literal, or_, select, update

from romancy.errors import InvalidValueError, OutboxEventNotFoundError
from romancy.limits import check_limit, check_name
from romancy.storage.execution import Store
from romancy.storage.payload_columns import payload_columns
from romancy.storage.records import OutboxRecord
from romancy.storage.tables import outbox_events
from romancy.wire.notify import OUTBOX_PENDING, outbox_payload
from romancy.wire.status import RETRYABLE_OUTBOX_STATUSES, OutboxStatus

if TYPE_CHECKING:
    from romancy.storage.connection import Transaction

_out = outbox_events
#: Longest pause between two attempts at one event (Go's relayer: 30 s).
MAX_BACKOFF = 30

STATUSES = tuple(OutboxStatus)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One outbox event as an operator sees it (without its data)."""

    event_id: str
    event_type: str
    event_source: str
    content_type: str
    status: str
    retry_count: int
    last_error: str | None
    created_at: datetime
    #: When it was published; while pending or processing, its last attempt or claim.
    published_at: datetime | None


def check_status(status: str, *, allowed: Sequence[str] = STATUSES) -> str:
    """``status`` if it is one of ``allowed``; else an error listing the valid ones."""
    if status not in STATUSES:
        raise InvalidValueError(
            f"unknown outbox status {status!r}; valid statuses: {', '.join(STATUSES)}"
        )
    if status not in allowed:
        raise InvalidValueError(
            f"outbox events in status {status!r} cannot be retried "
            f"(a pending event is already due; a processing one is being sent); "
            f"retryable statuses: {', '.join(allowed)}"
        )
    return status


class OutboxStore(Store):
    """Queries on ``outbox_events``."""

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
        data_type, text, binary = payload_columns(data)
        statement = insert(_out).values(
            event_id=event_id,
            event_type=event_type,
            event_source=event_source,
            data_type=data_type,
            event_data=text,
            event_data_binary=binary,
            content_type=content_type,
            status=OutboxStatus.PENDING,
            retry_count=0,
        )
        async with self._db.use(tx) as conn:
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
                c.status == OutboxStatus.PENDING,
                or_(c.published_at.is_(None), attempted <= d.now_plus(-backoff)),
            ),
            and_(c.status == OutboxStatus.PROCESSING, attempted <= d.now_plus(-claim_timeout)),
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
        async with self._db.use(None, atomic=True) as conn:
            rows = [OutboxRecord(*row[:8], row[8] or 0) for row in await conn.execute(query)]
            if rows:
                await conn.execute(
                    update(_out)
                    .where(c.event_id.in_([r.event_id for r in rows]))
                    .values(status=OutboxStatus.PROCESSING, published_at=d.now())
                )
        return rows

    async def published(self, event_id: str) -> None:
        await self._set(
            event_id,
            status=OutboxStatus.PUBLISHED,
            published_at=self._dialect.now(),
            last_error=None,
        )

    async def retry_later(self, event_id: str, error: str, *, give_up: bool) -> None:
        """Count a failed attempt; ``failed`` for good when ``give_up``."""
        await self._set(
            event_id,
            status=OutboxStatus.FAILED if give_up else OutboxStatus.PENDING,
            retry_count=_out.c.retry_count + 1,
            last_error=error[:2000],
            published_at=self._dialect.now(),
        )

    async def invalid(self, event_id: str, error: str) -> None:
        """The broker rejected the event itself (4xx): never retried."""
        await self._set(
            event_id, status=OutboxStatus.INVALID, last_error=error[:2000], published_at=None
        )

    async def list_events(
        self, *, status: str | None = None, event_type: str | None = None, limit: int = 100
    ) -> list[OutboxEntry]:
        """Events newest first, optionally only those in ``status`` or of ``event_type``;
        at most ``limit`` (1 to 1000)."""
        c = _out.c
        query = (
            select(
                c.event_id,
                c.event_type,
                c.event_source,
                c.content_type,
                c.status,
                c.retry_count,
                c.last_error,
                c.created_at,
                c.published_at,
            )
            .order_by(c.created_at.desc(), c.event_id.desc())
            .limit(check_limit(limit))
        )
        if status is not None:
            query = query.where(c.status == check_status(status))
        if event_type is not None:
            query = query.where(c.event_type == check_name(event_type, "event type"))
        async with self._db.use(None, read_only=True) as conn:
            rows = (await conn.execute(query)).all()
        # Go's relayer may leave retry_count NULL (the column is nullable).
        return [OutboxEntry(*row[:5], row[5] or 0, *row[6:]) for row in rows]

    async def retry_events(
        self, event_ids: Sequence[str] = (), *, status: str = OutboxStatus.FAILED
    ) -> int:
        """Put events in ``status`` back to ``pending`` so relayers send them again.

        With ``event_ids``, only those of them that are in ``status``; without, every event
        in ``status``. The attempt count starts again at 0, ``last_error`` is cleared and
        the event is due at once. Returns how many were reset. An unknown id raises
        :class:`~romancy.errors.OutboxEventNotFoundError` and resets nothing.
        """
        check_status(status, allowed=RETRYABLE_OUTBOX_STATUSES)
        if isinstance(event_ids, str):
            raise InvalidValueError("event_ids must be a sequence of ids, not one string")
        ids = [check_name(event_id, "outbox event id") for event_id in event_ids]
        c = _out.c
        # Only rows still in ``status`` change: a row a relayer claimed meanwhile (Edda
        # claims failed rows too) is ``processing`` and stays untouched.
        chosen = [c.status == status]
        if ids:
            chosen.append(c.event_id.in_(ids))
        async with self._db.transaction() as tx:
            if ids:
                known = select(c.event_id).where(c.event_id.in_(ids))
                found = set((await tx.connection.execute(known)).scalars())
                missing = [event_id for event_id in dict.fromkeys(ids) if event_id not in found]
                if missing:
                    raise OutboxEventNotFoundError(missing)
            result = await tx.connection.execute(
                update(_out)
                .where(*chosen)
                .values(
                    status=OutboxStatus.PENDING, retry_count=0, last_error=None, published_at=None
                )
            )
            if result.rowcount:
                # One wake-up hint for every listening relayer (any runtime's).
                first = ids[0] if ids else ""
                await self._db.notify(OUTBOX_PENDING, outbox_payload(first, ""), tx=tx)
        return int(result.rowcount)

    async def _set(self, event_id: str, **values: object) -> None:
        async with self._db.use(None) as conn:
            await conn.execute(update(_out).where(_out.c.event_id == event_id).values(**values))
