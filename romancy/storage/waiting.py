"""Queries that find subscribers waiting on a channel, shared by the channel store.

A waiting subscriber is a subscription row whose ``activity_id`` names the receive it
waits in, joined to its instance (any runtime's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, exists, func, not_, or_, select

from romancy.storage.dialects import Dialect
from romancy.storage.tables import (
    channel_delivery_cursors,
    channel_message_claims,
    channel_messages,
    channel_subscriptions,
    workflow_instances,
)
from romancy.wire.status import ChannelMode, DataType, InstanceStatus

_subs = channel_subscriptions
_msgs = channel_messages
_cursors = channel_delivery_cursors
_claims = channel_message_claims
_instances = workflow_instances


def waiting_query(dialect: Dialect) -> Any:
    """Waiting subscribers (as ``WaitingSubscriber`` columns); callers add conditions."""
    return (
        select(
            _subs.c.instance_id,
            _subs.c.channel,
            _subs.c.mode,
            _subs.c.activity_id,
            _instances.c.framework,
            _instances.c.workflow_name,
            _instances.c.status,
            _subs.c.timeout_at,
        )
        .join_from(_subs, _instances, dialect.exact(_instances.c.instance_id, _subs.c.instance_id))
        .where(_subs.c.activity_id.is_not(None), _subs.c.activity_id != "")
    )


def missed_query(d: Dialect, frameworks: Sequence[str], no_binary_for: Sequence[str]) -> Any:
    """Waiting subscribers of ``frameworks`` for which a message is already pending
    (binary messages do not count for the frameworks in ``no_binary_for``)."""
    cursor = d.greatest(
        func.coalesce(_subs.c.cursor_message_id, 0),
        func.coalesce(
            select(_cursors.c.last_delivered_id)
            .where(
                d.exact(_cursors.c.channel, _subs.c.channel),
                d.exact(_cursors.c.instance_id, _subs.c.instance_id),
            )
            # Nested inside EXISTS below: without this it would not correlate to the
            # outer subscription and would read every subscription's cursor.
            .correlate(_subs)
            .scalar_subquery(),
            0,
        ),
    )
    readable = or_(
        _instances.c.framework.not_in(no_binary_for), _msgs.c.data_type != DataType.BINARY
    )
    newer = exists().where(d.exact(_msgs.c.channel, _subs.c.channel), _msgs.c.id > cursor, readable)
    unclaimed = exists().where(
        d.exact(_msgs.c.channel, _subs.c.channel),
        not_(exists().where(_claims.c.message_id == _msgs.c.message_id)),
        readable,
    )
    return waiting_query(d).where(
        _instances.c.framework.in_(frameworks),
        _instances.c.status == InstanceStatus.WAITING_FOR_MESSAGE,
        or_(
            and_(_subs.c.mode == ChannelMode.BROADCAST, newer),
            and_(_subs.c.mode == ChannelMode.COMPETING, unclaimed),
        ),
    )
