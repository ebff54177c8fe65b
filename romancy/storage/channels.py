"""Channel and subscription tables: the queries behind ``romancy.channels``.

Reached as ``storage.channels``. Cursors (docs/compat.md): a broadcast cursor is the
larger of Edda's ``channel_subscriptions.cursor_message_id`` and Go's
``channel_delivery_cursors.last_delivered_id``, and both are written. Competing messages
are claimed by their text ``message_id`` and then deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, exists, func, insert, not_, select, update
from sqlalchemy.exc import IntegrityError

from romancy.storage.collisions import refuse_twin
from romancy.storage.execution import Store
from romancy.storage.records import MessageRecord, SubscriptionRecord, WaitingSubscriber
from romancy.storage.tables import (
    channel_delivery_cursors,
    channel_message_claims,
    channel_messages,
    channel_subscriptions,
    workflow_group_memberships,
    workflow_instances,
)
from romancy.storage.waiting import missed_query, waiting_query
from romancy.wire.status import ChannelMode

if TYPE_CHECKING:
    from romancy.storage.connection import Transaction

_subs = channel_subscriptions
_msgs = channel_messages
_cursors = channel_delivery_cursors
_claims = channel_message_claims
_groups = workflow_group_memberships
_instances = workflow_instances


class ChannelStore(Store):
    """Channel messages, subscriptions, cursors and claims (groups: ``GroupStore``)."""

    # ------------------------------------------------------------------- messages

    async def insert_message(
        self,
        channel: str,
        message_id: str,
        data_type: str,
        data: str | None,
        data_binary: bytes | None,
        metadata: str | None,
        *,
        tx: Transaction | None = None,
    ) -> int:
        """Store a message; returns its sequence number (``channel_messages.id``)."""
        return await self._insert_id(
            _msgs,
            tx,
            channel=channel,
            message_id=message_id,
            data_type=data_type,
            data=data,
            data_binary=data_binary,
            metadata=metadata,
        )

    async def next_message(
        self, channel: str, mode: str, after: int, *, tx: Transaction | None = None
    ) -> MessageRecord | None:
        """The first message a subscriber may take: after its cursor (broadcast), or the
        oldest unclaimed one (competing; skipping rows other transactions hold)."""
        query = (
            select(*_msgs.c)
            .where(self._exact(_msgs.c.channel, channel))
            .order_by(_msgs.c.id)
            .limit(1)
        )
        if mode == ChannelMode.COMPETING:
            claimed = exists().where(_claims.c.message_id == _msgs.c.message_id)
            query = query.where(not_(claimed))
            if self._dialect.supports_skip_locked and tx is not None:
                query = query.with_for_update(skip_locked=True)
        else:
            query = query.where(_msgs.c.id > after)
        async with self._db.use(tx, read_only=tx is None) as conn:
            row = (await conn.execute(query)).first()
        return MessageRecord(*row) if row is not None else None

    async def take(
        self, instance_id: str, channel: str, mode: str, message: MessageRecord, *, tx: Transaction
    ) -> bool:
        """Consume ``message`` for a subscriber: advance both cursors (broadcast), or
        claim it by its text id and delete the message (competing). ``False``: claimed
        already."""
        conn = tx.connection
        if mode != ChannelMode.COMPETING:
            await self.advance_cursors(instance_id, channel, message.sequence, tx=tx)
            return True
        try:
            async with conn.begin_nested():
                await conn.execute(
                    insert(_claims).values(message_id=message.message_id, instance_id=instance_id)
                )
        except IntegrityError as error:
            # Claimed (duplicate key), or consumed and deleted already (no parent row).
            d = self._dialect
            if d.is_unique_violation(error) or d.is_foreign_key_violation(error):
                return False
            raise
        # The claim stays where the database keeps it (SQLite: no cascade): a consumer
        # that saw the message as pending just before this delete must still lose its
        # claim, instead of taking the message a second time. Retention removes it.
        await conn.execute(delete(_msgs).where(_msgs.c.message_id == message.message_id))
        return True

    async def advance_cursors(
        self, instance_id: str, channel: str, sequence: int, *, tx: Transaction
    ) -> None:
        """Move both broadcast cursor stores forward to ``sequence``."""
        conn, d = tx.connection, self._dialect
        await conn.execute(
            update(_subs)
            .where(
                self._exact(_subs.c.instance_id, instance_id), self._exact(_subs.c.channel, channel)
            )
            .values(cursor_message_id=sequence)
        )
        await conn.execute(
            d.upsert(
                _cursors,
                ["channel", "instance_id"],
                {"last_delivered_id": sequence, "updated_at": d.now()},
            ).values(
                channel=channel,
                instance_id=instance_id,
                last_delivered_id=sequence,
                updated_at=d.now(),
            )
        )

    async def delete_older_than(self, seconds: float) -> int:
        """Delete messages published more than ``seconds`` ago (and orphaned claims)."""
        cutoff = self._dialect.now_plus(-seconds)
        published = self._dialect.timestamp(_msgs.c.published_at)
        async with self._db.use(None, atomic=True) as conn:
            removed = (await conn.execute(delete(_msgs).where(published < cutoff))).rowcount
            orphaned = not_(exists().where(_msgs.c.message_id == _claims.c.message_id))
            claimed = self._dialect.timestamp(_claims.c.claimed_at)
            await conn.execute(delete(_claims).where(orphaned, claimed < cutoff))
        return removed

    # -------------------------------------------------------------- subscriptions

    async def mode_of(self, channel: str, *, tx: Transaction | None = None) -> str | None:
        """The mode any subscription of ``channel`` has (a channel's mode is locked)."""
        query = select(_subs.c.mode).where(self._exact(_subs.c.channel, channel)).limit(1)
        async with self._db.use(tx, read_only=tx is None) as conn:
            return await conn.scalar(query)

    async def subscribe(
        self, instance_id: str, channel: str, mode: str, *, tx: Transaction | None = None
    ) -> None:
        """Subscribe an instance (idempotent). A new broadcast subscriber starts after the
        channel's newest message, in both cursor stores."""
        d = self._dialect
        async with self._db.use(tx, atomic=True) as conn:
            current = await conn.scalar(
                select(_subs.c.mode).where(
                    self._exact(_subs.c.instance_id, instance_id),
                    self._exact(_subs.c.channel, channel),
                )
            )
            if current == mode:
                return
            if current is not None:
                await conn.execute(
                    update(_subs)
                    .where(
                        self._exact(_subs.c.instance_id, instance_id),
                        self._exact(_subs.c.channel, channel),
                    )
                    .values(mode=mode)
                )
                return
            start = None
            if mode == ChannelMode.BROADCAST:
                start = await conn.scalar(
                    select(func.coalesce(func.max(_msgs.c.id), 0)).where(
                        self._exact(_msgs.c.channel, channel)
                    )
                )
            added = await conn.execute(
                d.insert_ignore(_subs).values(
                    instance_id=instance_id, channel=channel, mode=mode, cursor_message_id=start
                )
            )
            if not added.rowcount:
                mine = self._exact(_subs.c.instance_id, instance_id)
                await refuse_twin(conn, _subs.c.channel, channel, "channel name", mine)
            if start is not None:
                await conn.execute(
                    d.insert_ignore(_cursors).values(
                        channel=channel,
                        instance_id=instance_id,
                        last_delivered_id=start,
                        updated_at=d.now(),
                    )
                )

    async def unsubscribe(
        self, instance_id: str, channel: str, *, tx: Transaction | None = None
    ) -> None:
        """Remove an instance's subscription (and our cursor row) for ``channel``."""
        async with self._db.use(tx, atomic=True) as conn:
            for table in (_subs, _cursors):
                await conn.execute(
                    delete(table).where(
                        self._exact(table.c.instance_id, instance_id),
                        self._exact(table.c.channel, channel),
                    )
                )

    async def subscription(
        self, instance_id: str, channel: str, *, tx: Transaction | None = None
    ) -> SubscriptionRecord | None:
        """An instance's subscription to ``channel``, with the resolved broadcast cursor."""
        query = (
            select(
                _subs.c.instance_id,
                _subs.c.channel,
                _subs.c.mode,
                _subs.c.activity_id,
                _subs.c.cursor_message_id,
                _cursors.c.last_delivered_id,
                _subs.c.timeout_at,
            )
            .select_from(
                _subs.outerjoin(
                    _cursors,
                    and_(
                        self._exact(_cursors.c.channel, _subs.c.channel),
                        self._exact(_cursors.c.instance_id, _subs.c.instance_id),
                    ),
                )
            )
            .where(
                self._exact(_subs.c.instance_id, instance_id), self._exact(_subs.c.channel, channel)
            )
        )
        async with self._db.use(tx, read_only=tx is None) as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        cursor = max(row.cursor_message_id or 0, row.last_delivered_id or 0)
        return SubscriptionRecord(
            row.instance_id, row.channel, row.mode, row.activity_id, cursor, row.timeout_at
        )

    async def wait(
        self,
        instance_id: str,
        channel: str,
        activity_id: str,
        timeout_seconds: float | None,
        *,
        tx: Transaction,
    ) -> bool:
        """Mark the subscription as waiting under ``activity_id`` (with a deadline)."""
        timeout_at = (
            self._dialect.now_plus(timeout_seconds) if timeout_seconds is not None else None
        )
        result = await tx.connection.execute(
            update(_subs)
            .where(
                self._exact(_subs.c.instance_id, instance_id), self._exact(_subs.c.channel, channel)
            )
            .values(activity_id=activity_id, timeout_at=timeout_at)
        )
        return result.rowcount > 0

    async def clear_wait(self, instance_id: str, channel: str, *, tx: Transaction) -> None:
        """The subscription no longer waits."""
        await tx.connection.execute(
            update(_subs)
            .where(
                self._exact(_subs.c.instance_id, instance_id), self._exact(_subs.c.channel, channel)
            )
            .values(activity_id=None, timeout_at=None)
        )

    async def clear_all_waits(self, instance_id: str, *, tx: Transaction) -> None:
        """None of the instance's subscriptions waits any more (cancellation)."""
        await tx.connection.execute(
            update(_subs)
            .where(self._exact(_subs.c.instance_id, instance_id))
            .values(activity_id=None, timeout_at=None)
        )

    async def waiting(
        self, channel: str, *, instance_id: str | None = None, tx: Transaction | None = None
    ) -> list[WaitingSubscriber]:
        """Instances of any runtime waiting on ``channel`` (optionally: just one)."""
        query = waiting_query(self._dialect).where(self._exact(_subs.c.channel, channel))
        if instance_id is not None:
            query = query.where(self._exact(_subs.c.instance_id, instance_id))
        async with self._db.use(tx, read_only=tx is None) as conn:
            return [
                WaitingSubscriber(*row) for row in await conn.execute(query.order_by(_subs.c.id))
            ]

    async def expired_waits(self, framework: str, *, limit: int) -> list[WaitingSubscriber]:
        """Waits of ``framework``'s instances whose deadline has passed."""
        query = (
            waiting_query(self._dialect)
            .where(
                _instances.c.framework == framework,
                _subs.c.timeout_at.is_not(None),
                self._dialect.is_due(_subs.c.timeout_at),
            )
            .limit(limit)
        )
        async with self._db.use(None, read_only=True) as conn:
            return [WaitingSubscriber(*row) for row in await conn.execute(query)]

    async def missed_deliveries(
        self,
        frameworks: Sequence[str],
        *,
        limit: int,
        no_binary_for: Sequence[str] = (),
    ) -> list[WaitingSubscriber]:
        """Waiting subscriptions of ``frameworks`` for which a message is already pending.

        The publisher's wake-up can be missed (the subscriber held its lock at that
        moment, or the publisher died); these are the waits to deliver into now. Binary
        messages do not count for the frameworks in ``no_binary_for``.
        """
        query = missed_query(self._dialect, frameworks, no_binary_for).limit(limit)
        async with self._db.use(None, read_only=True) as conn:
            return [WaitingSubscriber(*row) for row in await conn.execute(query)]

    async def remove_instance(self, instance_id: str, *, tx: Transaction) -> None:
        """Drop an ending instance's subscriptions, cursors and group memberships."""
        for table in (_subs, _cursors, _groups):
            await tx.connection.execute(
                delete(table).where(self._exact(table.c.instance_id, instance_id))
            )
