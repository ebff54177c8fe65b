"""The base of the stores: their database, its dialect, the one-row insert with an id,
and group commit for rows written one by one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, insert

from romancy.storage.batching import GroupWriter

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from romancy.storage.connection import Database, Transaction

#: Writes a batch of rows (statement parameters) on the connection it is given.
RowsWrite = Callable[["AsyncConnection", list[dict[str, Any]]], Awaitable[object]]


class Store:
    """What every store holds: the database it queries and that database's dialect."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._dialect = db.dialect
        #: Names and ids compare character for character on every backend.
        self._exact = db.dialect.exact

    async def _insert_id(self, table: Table, tx: Transaction | None, **values: Any) -> int:
        """Insert one row into ``table``; returns the ``id`` the database generated for it."""
        statement = insert(table).values(**values)
        async with self._db.use(tx) as conn:
            if conn.dialect.insert_returning:
                return int((await conn.execute(statement.returning(table.c.id))).scalar_one())
            return int((await conn.execute(statement)).lastrowid)

    def _group_writer(self, write: RowsWrite) -> GroupWriter[dict[str, Any]]:
        """Group commit through ``write``: each batch commits on a connection of its own."""

        async def write_rows(rows: list[dict[str, Any]]) -> None:
            async with self._db.use(None) as conn:
                await write(conn, rows)

        return GroupWriter(write_rows)
