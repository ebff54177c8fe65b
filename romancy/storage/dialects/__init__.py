"""One module per backend; :func:`dialect_for` picks the right one."""

from __future__ import annotations

from romancy.storage.dialects.base import Dialect
from romancy.storage.dialects.mysql import MySQLDialect
from romancy.storage.dialects.postgresql import PostgreSQLDialect
from romancy.storage.dialects.sqlite import SQLiteDialect
from romancy.storage.urls import DialectName

_DIALECTS: dict[DialectName, Dialect] = {
    "sqlite": SQLiteDialect(),
    "postgresql": PostgreSQLDialect(),
    "mysql": MySQLDialect(),
}


def dialect_for(name: DialectName) -> Dialect:
    """The :class:`Dialect` for a backend name."""
    return _DIALECTS[name]


__all__ = ["Dialect", "dialect_for"]
