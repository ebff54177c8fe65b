"""The base of the stores: their database, its dialect, and the one-row insert with an id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, insert

if TYPE_CHECKING:
    from romancy.storage.connection import Database, Transaction


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
