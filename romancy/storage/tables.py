"""SQLAlchemy Core descriptions of the shared tables, for building queries.

The DDL itself lives in ``schema/db/migrations``; these objects only tell SQLAlchemy the
column names and how to convert values. Timestamps go through :class:`UtcDateTime`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.types import TypeEngine

from romancy.serialization import as_utc, parse_time

# SQLite stores whole seconds: the Go runtime parses only this layout.
SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def parse_stored_time(value: str) -> datetime:
    """Read a timestamp as any runtime writes it on SQLite (space or T, fraction, offset),
    or MySQL's zero date, which the driver hands over as text."""
    if value.startswith("0000-00-00"):
        # Go's MySQL driver writes a zero time.Time so: read it back as that zero time.
        return datetime.min.replace(tzinfo=UTC)
    return parse_time(value)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC ``datetime`` in Python; naive UTC in the database (text on SQLite)."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(String() if dialect.name == "sqlite" else DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime(SQLITE_TIME_FORMAT) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return parse_stored_time(value)
        assert isinstance(value, datetime)
        return as_utc(value)


metadata = MetaData()


def _table(name: str, *columns: Column[Any]) -> Table:
    # Generated ``id`` columns are not declared as primary keys and nothing is implicitly
    # RETURNING-ed: SQLAlchemy would otherwise pre-fetch sequence values on PostgreSQL,
    # an extra round trip per insert. Where an id is needed the statement asks for it.
    return Table(name, metadata, *columns, implicit_returning=False)


workflow_definitions = _table(
    "workflow_definitions",
    Column("workflow_name", Text, primary_key=True),
    Column("source_hash", Text, primary_key=True),
    Column("source_code", Text),
    Column("created_at", UtcDateTime),
)

workflow_instances = _table(
    "workflow_instances",
    Column("instance_id", Text, primary_key=True),
    Column("workflow_name", Text),
    Column("source_hash", Text),
    Column("owner_service", Text),
    Column("framework", Text),
    Column("status", Text),
    Column("current_activity_id", Text),
    Column("continued_from", Text),
    Column("started_at", UtcDateTime),
    Column("updated_at", UtcDateTime),
    Column("input_data", Text),
    Column("output_data", Text),
    Column("locked_by", Text),
    Column("locked_at", UtcDateTime),
    Column("lock_timeout_seconds", Integer),
    Column("lock_expires_at", UtcDateTime),
)


def _history_columns() -> list[Column[Any]]:
    """The columns ``workflow_history`` and its archive share."""
    return [
        Column("id", Integer),
        Column("instance_id", Text),
        Column("activity_id", Text),
        Column("event_type", Text),
        Column("data_type", Text),
        Column("event_data", Text),
        Column("event_data_binary", LargeBinary),
        Column("created_at", UtcDateTime),
    ]


workflow_history = _table("workflow_history", *_history_columns())

workflow_history_archive = _table(
    "workflow_history_archive", *_history_columns(), Column("archived_at", UtcDateTime)
)

workflow_compensations = _table(
    "workflow_compensations",
    Column("id", Integer),
    Column("instance_id", Text),
    Column("activity_id", Text),
    Column("activity_name", Text),
    Column("args", Text),
    Column("created_at", UtcDateTime),
)

workflow_timer_subscriptions = _table(
    "workflow_timer_subscriptions",
    Column("id", Integer),
    Column("instance_id", Text),
    Column("timer_id", Text),
    Column("expires_at", UtcDateTime),
    Column("activity_id", Text),
    Column("created_at", UtcDateTime),
)

workflow_group_memberships = _table(
    "workflow_group_memberships",
    Column("id", Integer),
    Column("instance_id", Text),
    Column("group_name", Text),
    Column("joined_at", UtcDateTime),
)

outbox_events = _table(
    "outbox_events",
    Column("event_id", Text, primary_key=True),
    Column("event_type", Text),
    Column("event_source", Text),
    Column("data_type", Text),
    Column("event_data", Text),
    Column("event_data_binary", LargeBinary),
    Column("content_type", Text),
    Column("created_at", UtcDateTime),
    Column("published_at", UtcDateTime),
    Column("status", Text),
    Column("retry_count", Integer),
    Column("last_error", Text),
)

channel_messages = _table(
    "channel_messages",
    Column("id", Integer),
    Column("channel", Text),
    Column("message_id", Text),
    Column("data_type", Text),
    Column("data", Text),
    Column("data_binary", LargeBinary),
    Column("metadata", Text),
    Column("published_at", UtcDateTime),
)

channel_subscriptions = _table(
    "channel_subscriptions",
    Column("id", Integer),
    Column("instance_id", Text),
    Column("channel", Text),
    Column("mode", Text),
    Column("activity_id", Text),
    Column("cursor_message_id", Integer),
    Column("timeout_at", UtcDateTime),
    Column("subscribed_at", UtcDateTime),
)

channel_delivery_cursors = _table(
    "channel_delivery_cursors",
    Column("id", Integer),
    Column("channel", Text),
    Column("instance_id", Text),
    Column("last_delivered_id", Integer),
    Column("updated_at", UtcDateTime),
)

channel_message_claims = _table(
    "channel_message_claims",
    Column("message_id", Text, primary_key=True),
    Column("instance_id", Text),
    Column("claimed_at", UtcDateTime),
)

system_locks = _table(
    "system_locks",
    Column("lock_name", Text, primary_key=True),
    Column("locked_by", Text),
    Column("locked_at", UtcDateTime),
    Column("lock_expires_at", UtcDateTime),
)

schema_version = _table(
    "schema_version",
    Column("version", Integer, primary_key=True),
    Column("applied_at", UtcDateTime),
    Column("description", Text),
)

schema_migrations = _table(
    "schema_migrations",
    Column("version", String(128), primary_key=True),
)

#: Every shared table, parents before children (delete in reverse).
SHARED_TABLES = (
    "schema_version",
    "workflow_definitions",
    "workflow_instances",
    "workflow_history",
    "workflow_history_archive",
    "workflow_compensations",
    "workflow_timer_subscriptions",
    "workflow_group_memberships",
    "outbox_events",
    "channel_messages",
    "channel_subscriptions",
    "channel_delivery_cursors",
    "channel_message_claims",
    "system_locks",
)
