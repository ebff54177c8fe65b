"""Persistence: the :class:`Storage` the engine talks to, URL parsing and migrations."""

from romancy.storage.connection import Transaction
from romancy.storage.facade import Storage
from romancy.storage.faults import is_transient
from romancy.storage.migrations import Migration, MigrationRunner, MigrationState
from romancy.storage.outbox import OutboxEntry
from romancy.storage.records import (
    CompensationRecord,
    HistoryRecord,
    InstancePage,
    InstanceQuery,
    InstanceRecord,
    LockHolder,
    MessageRecord,
    NewInstance,
    OutboxRecord,
    SubscriptionRecord,
    TimerRecord,
    WaitingSubscriber,
)
from romancy.storage.session import ActivitySession
from romancy.storage.urls import DatabaseURL, parse_database_url

__all__ = [
    "ActivitySession",
    "CompensationRecord",
    "DatabaseURL",
    "HistoryRecord",
    "InstancePage",
    "InstanceQuery",
    "InstanceRecord",
    "LockHolder",
    "MessageRecord",
    "Migration",
    "MigrationRunner",
    "MigrationState",
    "NewInstance",
    "OutboxEntry",
    "OutboxRecord",
    "Storage",
    "SubscriptionRecord",
    "TimerRecord",
    "Transaction",
    "WaitingSubscriber",
    "is_transient",
    "parse_database_url",
]
