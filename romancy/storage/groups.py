"""Workflow groups: which instances belong to a named group.

Reached as ``storage.groups``. Names compare character for character; a name that the
database's collation cannot tell from an existing one is refused (see ``collisions``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from romancy.storage.collisions import refuse_twin
from romancy.storage.execution import Store
from romancy.storage.tables import workflow_group_memberships

if TYPE_CHECKING:
    from romancy.storage.connection import Transaction

_groups = workflow_group_memberships


class GroupStore(Store):
    """Rows of ``workflow_group_memberships``."""

    async def join_group(
        self, instance_id: str, group: str, *, tx: Transaction | None = None
    ) -> None:
        """Add ``instance_id`` to ``group`` (no-op when it is a member already)."""
        async with self._db.use(tx) as conn:
            added = await conn.execute(
                self._dialect.insert_ignore(_groups).values(
                    instance_id=instance_id, group_name=group
                )
            )
            if not added.rowcount:  # joined already, or a twin spelling has
                mine = self._exact(_groups.c.instance_id, instance_id)
                await refuse_twin(conn, _groups.c.group_name, group, "group name", mine)

    async def leave_group(
        self, instance_id: str, group: str, *, tx: Transaction | None = None
    ) -> None:
        """Remove ``instance_id`` from ``group`` (no-op when it is not a member)."""
        async with self._db.use(tx) as conn:
            await conn.execute(
                delete(_groups).where(
                    self._exact(_groups.c.instance_id, instance_id),
                    self._exact(_groups.c.group_name, group),
                )
            )

    async def group_members(self, group: str) -> list[str]:
        """Instance ids in ``group``, oldest membership first."""
        query = (
            select(_groups.c.instance_id)
            .where(self._exact(_groups.c.group_name, group))
            .order_by(_groups.c.id)
        )
        async with self._db.use(None, read_only=True) as conn:
            return list((await conn.scalars(query)).all())
