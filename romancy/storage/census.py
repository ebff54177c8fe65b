"""How many rows of each kind a database holds: what rolling back the schema would lose."""

from __future__ import annotations

from sqlalchemy import Table, func, select
from sqlalchemy.exc import DBAPIError

from romancy.storage.facade import Storage
from romancy.storage.tables import channel_messages, outbox_events, workflow_instances

#: The tables whose rows a user would miss, with a plural noun for each.
_COUNTED: tuple[tuple[Table, str], ...] = (
    (workflow_instances, "workflow instances"),
    (channel_messages, "channel messages"),
    (outbox_events, "outbox events"),
)


async def stored_rows(storage: Storage) -> dict[str, int]:
    """Rows per kind (``"workflow instances"`` …), for the tables that exist."""
    counts: dict[str, int] = {}
    for table, noun in _COUNTED:
        try:  # each count alone: a missing table must not spoil the others
            async with storage.transaction(read_only=True) as tx:
                count = await tx.connection.scalar(select(func.count()).select_from(table))
        except DBAPIError:
            continue
        counts[noun] = int(count or 0)
    return counts
