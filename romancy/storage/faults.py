"""Driver errors as romancy's own errors, translated where storage meets the driver.

Every storage call runs on a connection taken through :func:`translated`, so a server
that is down, unreachable or drops the connection reaches the caller as
:class:`~romancy.errors.DatabaseUnavailableError` naming the database, whichever API
was called. A unique-key violation of storage's own statements (or of a commit it makes)
becomes :class:`~romancy.errors.DuplicateRecordError` through :func:`raise_duplicate`; SQL that
a user runs on a storage connection keeps the driver's error. Other driver errors (a
deadlock, a foreign key) pass through unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from romancy.errors import DatabaseUnavailableError, DuplicateRecordError
from romancy.storage.dialects.base import driver_error
from romancy.storage.urls import DatabaseURL

if TYPE_CHECKING:
    from romancy.storage.dialects import Dialect


def driver_reason(error: BaseException) -> str:
    """The driver's message for ``error`` on one line, or its class name when it has none."""
    orig = driver_error(error)
    lines = _message(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__


def driver_text(error: BaseException) -> str:
    """The driver's whole message for ``error``: where later lines matter (libpq's hint and
    one line per host tried for a connection; the duplicate key's DETAIL)."""
    orig = driver_error(error)
    return str(orig).strip() or type(orig).__name__


def _message(orig: BaseException) -> str:
    args: tuple[Any, ...] = getattr(orig, "args", ())
    if len(args) == 2 and isinstance(args[0], int):  # PyMySQL: (errno, message)
        return str(args[1])
    # psycopg puts CONTEXT and DETAIL lines around the server's message: only that counts.
    primary = getattr(getattr(orig, "diag", None), "message_primary", None)
    return primary if isinstance(primary, str) else str(orig)


def unavailable(db: DatabaseURL, error: BaseException) -> DatabaseUnavailableError:
    """The error to raise when ``db`` cannot be reached, with the driver's reason."""
    return DatabaseUnavailableError(f"cannot connect to {db.redacted}: {driver_text(error)}")


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


def raise_duplicate(dialect: Dialect, error: IntegrityError) -> NoReturn:
    """Raise DuplicateRecordError for a unique-key violation, else ``error`` itself (a
    foreign key or NOT NULL violation is a bug, not a race)."""
    if dialect.is_unique_violation(error):
        raise DuplicateRecordError(f"the row exists already: {driver_text(error)}") from error
    raise error


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is the database's trouble (retry later), not the caller's.

    Only what storage raises counts: a lost or refused connection, a deadlock or a lock
    timeout. A ``ConnectionError`` raised by workflow code is that code's failure.
    """
    if isinstance(error, DatabaseUnavailableError):
        return True
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or isinstance(error, OperationalError | InterfaceError)
    return False
