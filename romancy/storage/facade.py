"""``Storage``: one object the engine talks to, its calls served by the stores.

Every call takes an optional ``tx``: given one, the statement joins that transaction (so
an activity's own SQL, its history row and its compensation commit together); without
one, the call runs in a short transaction of its own. The work is done by the stores,
one per concern (``instances``, ``locks``, ``history``, ``channels``, ``groups``,
``outbox``) on a shared :class:`~romancy.storage.connection.Database`; callers name the
store they use (``storage.history.append_history(...)``).
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
