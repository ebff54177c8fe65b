"""Driver errors that mean "the database is not there", as romancy's own error.

Every storage call runs on a connection taken through :func:`translated`, so a server
that is down, unreachable or drops the connection reaches the caller as
:class:`~romancy.errors.DatabaseUnavailableError` naming the database, whichever API
was called; other driver errors (a deadlock, a constraint) pass through unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError

from romancy.errors import DatabaseUnavailableError
from romancy.storage.urls import DatabaseURL


def unavailable(db: DatabaseURL, error: BaseException) -> DatabaseUnavailableError:
    """The error to raise when ``db`` cannot be reached, with the driver's reason."""
    reason = getattr(error, "orig", None) or error
    return DatabaseUnavailableError(f"cannot connect to {db.redacted}: {str(reason).strip()}")


@asynccontextmanager
async def translated(db: DatabaseURL) -> AsyncIterator[None]:
    """Turn a lost or refused connection inside the block into DatabaseUnavailableError."""
    try:
        yield
    except DBAPIError as error:
        # No statement: the driver failed to connect (SQLAlchemy flags only connections
        # lost mid-use as invalidated).
        if error.connection_invalidated or error.statement is None:
            raise unavailable(db, error) from error
        raise
