"""Two spellings of a name that a unique key cannot tell apart.

On MySQL/MariaDB the shared schema's text columns take the server's default collation,
which folds case, accents and trailing spaces: ``"id-CaseTest"`` and ``"id-casetest"``
are one value to a primary or unique key there. Queries compare exactly (see
``Dialect.exact``), but a key cannot: when an insert hits such a twin, the caller gets
an error that says so, instead of a misleading "already exists" or a silent no-op.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncConnection

from romancy.errors import InvalidValueError


async def refuse_twin(
    conn: AsyncConnection,
    column: ColumnElement[Any],
    value: str,
    what: str,
    *scope: ColumnElement[bool],
) -> None:
    """Raise :class:`InvalidValueError` when ``column`` holds, within ``scope``, a value
    the database's collation takes for ``value`` but that is spelled differently."""
    for stored in await conn.scalars(select(column).where(column == value, *scope)):
        if stored != value:
            raise InvalidValueError(
                f"{what} {value!r} cannot be stored next to {stored!r}: this database "
                "compares them as equal (its collation ignores case, accents and trailing "
                "spaces), so it cannot hold both; choose a name that differs otherwise"
            )
