"""Small execution helpers shared by the storage modules."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert


async def insert_returning_id(conn: AsyncConnection, statement: Insert, id_column: Any) -> int:
    """Run a single-row INSERT and return the id the database generated for it."""
    if conn.dialect.insert_returning:
        return int((await conn.execute(statement.returning(id_column))).scalar_one())
    result = await conn.execute(statement)
    return int(result.lastrowid)
