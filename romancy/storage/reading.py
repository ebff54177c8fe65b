"""Opening a database only to read it: a missing SQLite file is an error, never created."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from sqlalchemy.exc import DBAPIError

from romancy.errors import DatabaseUnavailableError
from romancy.storage.facade import Storage
from romancy.storage.faults import driver_reason
from romancy.storage.urls import MEMORY, DatabaseURL

_T = TypeVar("_T")

#: SQLite URI parameters of a read-only connection (``file:…?mode=ro``).
READ_ONLY_QUERY = {"mode": "ro", "uri": "true"}


def read_only_url(db: DatabaseURL) -> DatabaseURL:
    """``db`` opened read-only: for a SQLite file, a ``mode=ro`` URI, refused with
    :class:`DatabaseUnavailableError` when the file does not exist; other backends never
    create a database on connect and are returned unchanged."""
    if db.dialect != "sqlite" or db.sqlite_path in (None, MEMORY):
        return db
    path = Path(db.sqlite_path or "")
    if not path.is_file():
        raise DatabaseUnavailableError(
            f"no such database file: {path} (create it with `romancy migrate up --db {path}`)"
        )
    uri = "file:" + quote(str(path.resolve()))
    return replace(db, url=db.url.set(database=uri, query=READ_ONLY_QUERY))


async def open_for_reading(db: DatabaseURL, *, pool_size: int = 1) -> Storage:
    """A :class:`Storage` on ``db`` that cannot create or change a SQLite file."""
    return await Storage.open(read_only_url(db), pool_size=pool_size)


async def explained(
    storage: Storage, query: Callable[[], Awaitable[_T]], what: str = "workflow instances"
) -> _T:
    """Run ``query``; a database error becomes one line naming the database and the likely
    cause (typically: the schema is not migrated yet)."""
    try:
        return await query()
    except DBAPIError as exc:
        raise DatabaseUnavailableError(
            f"cannot read {what} from {storage.url.redacted}: {driver_reason(exc)} "
            "(is the schema migrated? see `romancy migrate status`)"
        ) from None
