"""``Storage``: one object the engine talks to, its calls served by the stores.

Every call takes an optional ``tx``: given one, the statement joins that transaction (so
an activity's own SQL, its history row and its compensation commit together); without
one, the call runs in a short transaction of its own. The work is done by the stores,
one per concern (``instances``, ``locks``, ``history``, ``channels``, ``groups``,
``outbox``) on a shared :class:`~romancy.storage.connection.Database`; the engine's
calls are those stores' bound methods, so going through the facade costs nothing.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from romancy.storage.channels import ChannelStore
from romancy.storage.connection import Database
from romancy.storage.groups import GroupStore
from romancy.storage.history import HistoryStore
from romancy.storage.instances import InstanceStore
from romancy.storage.locks import LockStore
from romancy.storage.migrations import MigrationRunner, bundled_migrations_dir, load_migrations
from romancy.storage.outbox import OutboxStore
from romancy.storage.urls import DatabaseURL


class Storage:
    """Workflow storage on SQLite, PostgreSQL or MySQL/MariaDB."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.url = database.url
        self.dialect = database.dialect
        #: Workflow instances and definitions.
        self.instances = InstanceStore(database)
        #: Instance locks and named system locks.
        self.locks = LockStore(database)
        #: History rows, timers and compensations.
        self.history = HistoryStore(database)
        #: Group memberships.
        self.groups = GroupStore(database)
        #: Channel messages, subscriptions, cursors and claims.
        self.channels = ChannelStore(database)
        #: The transactional outbox.
        self.outbox = OutboxStore(database)

        self.transaction = database.transaction
        self.notify = database.notify
        self.close = database.close

        instances = self.instances
        self.ensure_definition = instances.ensure_definition
        self.create_instance = instances.create_instance
        self.get_instance = instances.get_instance
        self.update_instance = instances.update_instance
        self.find_resumable = instances.find_resumable
        self.list_instances = instances.list_instances
        self.find_interrupted_endings = instances.find_interrupted_endings
        self.restart_recurred = instances.restart_recurred

        locks = self.locks
        self.try_lock_instance = locks.try_lock_instance
        self.renew_instance_locks = locks.renew_instance_locks
        self.unlock_instance = locks.unlock_instance
        self.instance_lock = locks.instance_lock
        self.release_expired_locks = locks.release_expired_locks
        self.try_system_lock = locks.try_system_lock
        self.release_system_lock = locks.release_system_lock
        self.system_lock = locks.system_lock

        history = self.history
        self.append_history = history.append_history
        self.load_history = history.load_history
        self.archive_history = history.archive_history
        self.add_timer = history.add_timer
        self.find_due_timers = history.find_due_timers
        self.delete_timers = history.delete_timers
        self.add_compensation = history.add_compensation
        self.list_compensations = history.list_compensations
        self.delete_compensations = history.delete_compensations

    @classmethod
    async def open(cls, url: str | DatabaseURL, *, pool_size: int = 10) -> Storage:
        """Connect to ``url`` (any accepted spelling) and check the database answers."""
        return cls(await Database.open(url, pool_size=pool_size))

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine (for activities' own queries and for tests)."""
        return self.database.engine

    @property
    def notify_enabled(self) -> bool:
        """Whether NOTIFY hints are sent (PostgreSQL only; an application may turn
        them off)."""
        return self.database.notify_enabled

    @notify_enabled.setter
    def notify_enabled(self, enabled: bool) -> None:
        self.database.notify_enabled = enabled

    @property
    def packet_limit(self) -> int | None:
        """Largest statement the server accepts, in bytes (``None``: no such limit)."""
        return self.database.packet_limit

    def migrator(
        self, source: str | Path | None = None, *, lock_timeout: float = 60.0
    ) -> MigrationRunner:
        """A runner for ``source`` (a folder with per-dialect sub-folders) or our bundle."""
        folder = Path(source) if source is not None else bundled_migrations_dir()
        migrations = load_migrations(folder, self.url.dialect)
        return MigrationRunner(self.engine, self.dialect, migrations, lock_timeout=lock_timeout)

    async def migrate(self, source: str | Path | None = None) -> list[str]:
        """Apply pending migrations; returns the versions applied by this call."""
        return await self.migrator(source).up()
