"""The storage interface the engine uses, implemented once on SQLAlchemy Core.

Backend differences are delegated to :mod:`romancy.storage.dialects`. Every method
takes an optional ``tx``: given one, the statement joins that transaction
(so an activity's own SQL, its history row and its compensation commit together);
without one, the method runs in a short transaction of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Integer,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from romancy.errors import DatabaseUnavailableError, WorkflowAlreadyExistsError
from romancy.storage.batching import GroupWriter
from romancy.storage.channels import ChannelStore
from romancy.storage.collisions import refuse_twin
from romancy.storage.dialects import Dialect, dialect_for
from romancy.storage.dialects.sqlite import READ_ONLY
from romancy.storage.execution import insert_returning_id
from romancy.storage.faults import translated, unavailable
from romancy.storage.migrations import (
    MigrationRunner,
    bundled_migrations_dir,
    load_migrations,
)
from romancy.storage.outbox import OutboxStore
from romancy.storage.records import (
    CompensationRecord,
    HistoryRecord,
    InstancePage,
    InstanceQuery,
    InstanceRecord,
    LockHolder,
    NewInstance,
    TimerRecord,
    decode_page_token,
    encode_page_token,
)
from romancy.storage.search import search_conditions
from romancy.storage.tables import (
    system_locks,
    workflow_compensations,
    workflow_definitions,
    workflow_history,
    workflow_history_archive,
    workflow_instances,
    workflow_timer_subscriptions,
)
from romancy.storage.urls import MEMORY, DatabaseURL, parse_database_url
from romancy.wire.status import InstanceStatus

_instances = workflow_instances
_history = workflow_history
_timers = workflow_timer_subscriptions
_comps = workflow_compensations

_UNSET: Any = object()

#: Columns of a history row written by ``append_history`` (created_at: the default).
_HISTORY_COLUMNS = (
    "instance_id",
    "activity_id",
    "event_type",
    "data_type",
    "event_data",
    "event_data_binary",
)

#: Columns ``create_instance`` fills from its argument of the same names.
_CREATE_COLUMNS = (
    "instance_id",
    "workflow_name",
    "source_hash",
    "owner_service",
    "framework",
    "input_data",
    "continued_from",
)


@dataclass(frozen=True)
class _RawStatement:
    """A statement compiled once for the driver: its SQL and how to order parameters."""

    sql: str
    positions: tuple[str, ...] | None  # parameter order, for positional paramstyles
    defaults: dict[str, Any]  # values compiled into the statement (constants)

    def bind(self, parameters: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        values = {**self.defaults, **parameters}
        return values if self.positions is None else [values[name] for name in self.positions]


class Transaction:
    """An open database transaction, passed as ``tx=`` to join storage calls to it."""

    __slots__ = ("connection",)

    def __init__(self, connection: AsyncConnection) -> None:
        #: The SQLAlchemy connection: run your own statements on it to join the transaction.
        self.connection = connection


class Storage:
    """Workflow storage on SQLite, PostgreSQL or MySQL/MariaDB."""

    def __init__(self, db: DatabaseURL, dialect: Dialect, *, pool_size: int) -> None:
        self.url = db
        self.dialect = dialect
        memory = db.sqlite_path == MEMORY
        # Inserts report their rowcount too (insert-or-ignore tells "was it new?" by it).
        self._engine = dialect.create_engine(db, pool_size=pool_size).execution_options(
            preserve_rowcount=True
        )
        # Single statements outside a caller's transaction run on autocommit connections
        # (one round trip each). An in-memory SQLite database has only one connection.
        self._auto: AsyncEngine | None = (
            None
            if memory
            else dialect.create_engine(db, pool_size=pool_size, autocommit=True).execution_options(
                preserve_rowcount=True
            )
        )
        serialize = dialect.serialize_writes
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if serialize else None
        # An in-memory SQLite database is a single shared connection: serialise reads too.
        self._read_lock = self._write_lock if memory else None
        # Definition rows never go away: each (name, hash) is written once per process.
        self._known_definitions: set[tuple[str, str]] = set()
        self._statements: dict[Hashable, Executable] = {}
        self._raw_statements: dict[Hashable, _RawStatement] = {}
        self._history_writer: GroupWriter[dict[str, Any]] = GroupWriter(self._append_many)
        self._instance_writers = {flag: self._instance_writer(flag) for flag in (False, True)}
        #: Channel messages, subscriptions, cursors, claims and groups.
        self.channels = ChannelStore(self)
        #: The transactional outbox.
        self.outbox = OutboxStore(self)
        #: Send NOTIFY hints on the shared channels (PostgreSQL only).
        self.notify_enabled = dialect.name == "postgresql"
        #: Largest statement the server accepts, in bytes (``None``: no such limit).
        self.packet_limit: int | None = None

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def open(cls, url: str | DatabaseURL, *, pool_size: int = 10) -> Storage:
        """Connect to ``url`` (any accepted spelling) and check the database answers."""
        db = url if isinstance(url, DatabaseURL) else parse_database_url(url)
        dialect = dialect_for(db.dialect)
        storage = cls(db, dialect, pool_size=pool_size)
        try:
            async with storage.transaction(read_only=True) as tx:
                storage.packet_limit = await dialect.probe(tx.connection)
        except (DatabaseUnavailableError, DBAPIError, OSError) as exc:
            await storage.close()
            if isinstance(exc, DatabaseUnavailableError):
                raise
            raise unavailable(db, exc) from None
        return storage

    def _cached(self, key: Hashable, build: Callable[[], Executable]) -> Executable:
        """A statement built once and reused: a hot path then skips SQLAlchemy's
        statement construction and cache-key work, and runs with bound parameters."""
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = build()
        return statement

    async def _write(
        self,
        conn: AsyncConnection,
        key: Hashable,
        build: Callable[[], Executable],
        parameters: dict[str, Any] | list[dict[str, Any]],
    ) -> int:
        """Run a cached write statement straight on the driver; returns the rowcount.

        The statement is compiled by SQLAlchemy once; each call then skips SQLAlchemy's
        per-execution work, which costs more than the round trip itself on a hot path.
        Driver errors come back as the usual SQLAlchemy exceptions, and a connection the
        dialect recognises as dead is invalidated, as SQLAlchemy would.
        """
        raw = self._raw_statements.get(key)
        if raw is None:
            compiled = self._cached(key, build).compile(dialect=conn.dialect)  # type: ignore[attr-defined]
            positions = tuple(compiled.positiontup or ()) if compiled.positional else None
            raw = _RawStatement(compiled.string, positions, dict(compiled.params))
            self._raw_statements[key] = raw
        if isinstance(parameters, list) and len(parameters) == 1:
            parameters = parameters[0]  # executemany costs more than execute for one row
        many = isinstance(parameters, list)
        bound: Any = (
            [raw.bind(p) for p in parameters]
            if isinstance(parameters, list)
            else raw.bind(parameters)
        )
        proxied = await conn.get_raw_connection()
        dbapi_error = conn.dialect.loaded_dbapi.Error
        try:
            async with proxied.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
                await (cursor.executemany if many else cursor.execute)(raw.sql, bound)
                return int(cursor.rowcount)
        except dbapi_error as error:
            lost = conn.dialect.is_disconnect(error, proxied, None)
            if lost:
                await conn.invalidate()
            raise DBAPIError.instance(
                raw.sql, bound, error, dbapi_error, connection_invalidated=lost
            ) from error

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()
        if self._auto is not None:
            await self._auto.dispose()

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine (for activities' own queries and for tests)."""
        return self._engine

    def migrator(
        self, source: str | Path | None = None, *, lock_timeout: float = 60.0
    ) -> MigrationRunner:
        """A runner for ``source`` (a folder with per-dialect sub-folders) or our bundle."""
        folder = Path(source) if source is not None else bundled_migrations_dir()
        migrations = load_migrations(folder, self.url.dialect)
        return MigrationRunner(self._engine, self.dialect, migrations, lock_timeout=lock_timeout)

    async def migrate(self, source: str | Path | None = None) -> list[str]:
        """Apply pending migrations; returns the versions applied by this call."""
        return await self.migrator(source).up()

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[Transaction]:
        """A database transaction; commits on success, rolls back on an exception."""
        lock = self._read_lock if read_only else self._write_lock
        async with lock or nullcontext(), translated(self.url), self._engine.connect() as conn:
            if read_only:
                conn = await conn.execution_options(**{READ_ONLY: True})
            async with conn.begin():
                yield Transaction(conn)

    @asynccontextmanager
    async def _use(
        self, tx: Transaction | None, *, read_only: bool = False, atomic: bool = False
    ) -> AsyncIterator[AsyncConnection]:
        """The connection a storage call runs on.

        The caller's transaction when given; else a transaction of our own when the call
        runs several statements that must commit together (``atomic``); else an
        autocommit connection, for one statement.
        """
        if tx is not None:
            yield tx.connection
        elif atomic or self._auto is None:
            async with self.transaction(read_only=read_only) as own:
                yield own.connection
        else:
            lock = self._read_lock if read_only else self._write_lock
            async with lock or nullcontext(), translated(self.url), self._auto.connect() as conn:
                yield conn

    async def notify(self, channel: str, payload: str, *, tx: Transaction | None = None) -> None:
        """Send a NOTIFY hint (PostgreSQL; delivered when ``tx`` commits). No-op elsewhere."""
        if not self.notify_enabled:
            return
        async with self._use(tx) as conn:
            await conn.execute(select(func.pg_notify(channel, payload)))

    # ------------------------------------------------------- definitions, instances

    async def ensure_definition(
        self,
        workflow_name: str,
        source_hash: str,
        source_code: str,
        *,
        tx: Transaction | None = None,
    ) -> None:
        """Record a workflow definition unless that (name, hash) pair exists."""
        async with self._use(tx) as conn:
            await conn.execute(
                self.dialect.insert_ignore(workflow_definitions).values(
                    workflow_name=workflow_name, source_hash=source_hash, source_code=source_code
                )
            )

    async def create_instance(self, new: NewInstance, *, tx: Transaction | None = None) -> None:
        """Insert a workflow instance (and its definition row, needed by the FK).

        Raises :class:`~romancy.errors.WorkflowAlreadyExistsError` when the id is taken;
        nothing is written then.
        """
        locked = new.locked_by is not None
        parameters: dict[str, Any] = {f"p_{name}": getattr(new, name) for name in _CREATE_COLUMNS}
        if locked:
            parameters |= {"p_locked_by": new.locked_by, "lock_seconds": _whole(new.lock_seconds)}
        definition = (new.workflow_name, new.source_hash)
        known = definition in self._known_definitions
        try:
            if tx is None and known:
                await self._instance_writers[locked].write(parameters)  # may share a statement
            else:
                async with self._use(tx, atomic=not known) as conn:
                    if not known:
                        await self.ensure_definition(
                            new.workflow_name,
                            new.source_hash,
                            new.source_code,
                            tx=Transaction(conn),
                        )
                    await self._insert_instances(conn, locked, parameters)
        except IntegrityError as exc:
            if self.dialect.is_unique_violation(exc):
                async with self._use(None, read_only=True) as conn:
                    await refuse_twin(
                        conn, _instances.c.instance_id, new.instance_id, "instance id"
                    )
                raise WorkflowAlreadyExistsError(
                    f"a workflow instance with id {new.instance_id!r} already exists"
                ) from None
            raise
        if tx is None:  # committed: the definition row exists from now on
            self._known_definitions.add(definition)

    async def _insert_instances(
        self,
        conn: AsyncConnection,
        locked: bool,
        parameters: dict[str, Any] | list[dict[str, Any]],
    ) -> None:
        def build() -> Executable:
            d = self.dialect
            values: dict[str, Any] = {name: bindparam(f"p_{name}") for name in _CREATE_COLUMNS}
            values |= {
                "status": InstanceStatus.RUNNING,
                "started_at": d.now(),
                "updated_at": d.now(),
            }
            if locked:
                values |= {
                    "locked_by": bindparam("p_locked_by"),
                    "locked_at": d.now(),
                    "lock_expires_at": d.now_plus(bindparam("lock_seconds", type_=Integer)),
                }
            return insert(_instances).values(values)

        await self._write(conn, ("create", locked), build, parameters)

    def _instance_writer(self, locked: bool) -> GroupWriter[dict[str, Any]]:
        async def write(rows: list[dict[str, Any]]) -> None:
            async with self._use(None) as conn:
                await self._insert_instances(conn, locked, rows)

        return GroupWriter(write)

    async def get_instance(
        self, instance_id: str, *, tx: Transaction | None = None
    ) -> InstanceRecord | None:
        """The instance with this id, or ``None``."""
        statement = self._cached(
            "get",
            lambda: select(_instances).where(
                self.dialect.exact(_instances.c.instance_id, bindparam("instance_id"))
            ),
        )
        async with self._use(tx, read_only=True) as conn:
            row = (await conn.execute(statement, {"instance_id": instance_id})).first()
        return InstanceRecord(*row) if row is not None else None

    async def update_instance(
        self,
        instance_id: str,
        *,
        status: str = _UNSET,
        output_data: str | None = _UNSET,
        input_data: str = _UNSET,
        current_activity_id: str | None = _UNSET,
        only_if_status: Sequence[str] | None = None,
        only_if_locked_by: str | None = None,
        release_lock: bool = False,
        tx: Transaction | None = None,
    ) -> bool:
        """Change an instance's columns; returns whether a row matched the conditions.

        ``only_if_status`` and ``only_if_locked_by`` make the update conditional (a
        compare-and-set); ``release_lock`` clears the three lock columns in the same
        statement.
        """
        parameters: dict[str, Any] = {"p_instance_id": instance_id}
        for column, value in (
            ("status", status),
            ("output_data", output_data),
            ("input_data", input_data),
            ("current_activity_id", current_activity_id),
        ):
            if value is not _UNSET:
                parameters[f"set_{column}"] = value
        statuses = list(only_if_status) if only_if_status is not None else []
        parameters |= {f"only_if_status_{n}": value for n, value in enumerate(statuses)}
        if only_if_locked_by is not None:
            parameters["only_if_locked_by"] = only_if_locked_by
        shape = (tuple(parameters), release_lock)

        def build() -> Executable:
            c = _instances.c
            values: dict[str, Any] = {
                name[4:]: bindparam(name) for name in parameters if name.startswith("set_")
            }
            values["updated_at"] = self.dialect.now()
            if release_lock:
                values |= {"locked_by": None, "locked_at": None, "lock_expires_at": None}
            conditions = [self.dialect.exact(c.instance_id, bindparam("p_instance_id"))]
            if statuses:
                conditions.append(
                    c.status.in_([bindparam(f"only_if_status_{n}") for n in range(len(statuses))])
                )
            if "only_if_locked_by" in parameters:
                conditions.append(c.locked_by == bindparam("only_if_locked_by"))
            return update(_instances).where(*conditions).values(values)

        async with self._use(tx) as conn:
            return await self._write(conn, ("update", shape), build, parameters) > 0

    async def find_resumable(
        self, framework: str, *, limit: int, tx: Transaction | None = None
    ) -> list[tuple[str, str]]:
        """``(instance_id, workflow_name)`` of this framework's running, unlocked instances."""
        query = (
            select(_instances.c.instance_id, _instances.c.workflow_name)
            .where(
                _instances.c.framework == framework,
                _instances.c.status == InstanceStatus.RUNNING,
                _instances.c.locked_by.is_(None),
            )
            .order_by(_instances.c.updated_at)
            .limit(limit)
        )
        async with self._use(tx, read_only=True) as conn:
            return [(r[0], r[1]) for r in await conn.execute(query)]

    async def list_instances(self, query: InstanceQuery) -> InstancePage:
        """Instances matching ``query``, newest first, one page at a time."""
        c, d = _instances.c, self.dialect
        conditions: list[ColumnElement[bool]] = []
        if query.framework is not None:
            conditions.append(c.framework == query.framework)
        if query.status is not None:
            conditions.append(c.status == query.status)
        if query.workflow_name is not None:
            conditions.append(c.workflow_name == query.workflow_name)
        if query.started_after is not None:
            conditions.append(c.started_at >= query.started_after)
        if query.started_before is not None:
            conditions.append(c.started_at <= query.started_before)
        conditions += search_conditions(d, query)
        if query.page_token:
            started, instance_id = decode_page_token(query.page_token)
            conditions.append(
                or_(
                    c.started_at < started,
                    and_(c.started_at == started, c.instance_id < instance_id),
                )
            )
        statement = (
            select(_instances)
            .where(*conditions)
            .order_by(c.started_at.desc(), c.instance_id.desc())
            .limit(query.limit + 1)
        )
        async with self._use(None, read_only=True) as conn:
            rows = [InstanceRecord(*row) for row in await conn.execute(statement)]
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        token = encode_page_token(rows[-1].started_at, rows[-1].instance_id) if more else None
        return InstancePage(rows, token, more)

    async def find_interrupted_endings(self, framework: str, *, limit: int = 100) -> list[str]:
        """Unlocked instances of ``framework`` whose failure or cancellation was cut short.

        ``compensating``, or ``cancelled`` without the output a finished cancellation
        writes: their compensations may still be pending.
        """
        c = _instances.c
        query = (
            select(c.instance_id)
            .where(
                c.framework == framework,
                c.locked_by.is_(None),
                or_(
                    c.status == InstanceStatus.COMPENSATING,
                    and_(c.status == InstanceStatus.CANCELLED, c.output_data.is_(None)),
                ),
            )
            .limit(limit)
        )
        async with self._use(None, read_only=True) as conn:
            return list((await conn.scalars(query)).all())

    async def restart_recurred(self, framework: str) -> int:
        """Set ``framework``'s unlocked ``recurred`` instances running again; returns how many."""
        c = _instances.c
        statement = (
            update(_instances)
            .where(
                c.framework == framework, c.status == InstanceStatus.RECURRED, c.locked_by.is_(None)
            )
            .values(status=InstanceStatus.RUNNING, updated_at=self.dialect.now())
        )
        async with self._use(None) as conn:
            return (await conn.execute(statement)).rowcount

    # ----------------------------------------------------------------- instance locks

    async def try_lock_instance(
        self,
        instance_id: str,
        worker_id: str,
        lease_seconds: float,
        *,
        tx: Transaction | None = None,
    ) -> bool:
        """Take (or re-take) an instance lock; ``False`` when another worker holds it.

        A single conditional UPDATE judged on the database clock: the lock is free when
        nobody holds it, when it is ours, or when its lease has expired. An Edda row's own
        ``lock_timeout_seconds`` wins over ``lease_seconds``.
        """

        def build() -> Executable:
            d, c = self.dialect, _instances.c
            worker: Any = bindparam("worker_id")
            return (
                update(_instances)
                .where(
                    self.dialect.exact(c.instance_id, bindparam("p_instance_id")),
                    or_(
                        c.locked_by.is_(None),
                        c.locked_by == worker,
                        and_(c.lock_expires_at.is_not(None), d.is_past(c.lock_expires_at)),
                    ),
                )
                .values(
                    locked_by=worker,
                    locked_at=d.now(),
                    lock_expires_at=d.now_plus(_row_lease(c.lock_timeout_seconds)),
                    updated_at=d.now(),
                )
            )

        parameters = {
            "p_instance_id": instance_id,
            "worker_id": worker_id,
            "lease": _whole(lease_seconds),
        }
        async with self._use(tx) as conn:
            return await self._write(conn, "lock", build, parameters) > 0

    async def renew_instance_locks(
        self, worker_id: str, instance_ids: list[str], lease_seconds: float
    ) -> dict[str, str]:
        """Extend our leases on ``instance_ids``; returns the status of each still ours.

        One UPDATE and one SELECT per batch however many instances run here; an id missing
        from the result was taken over (or vanished).
        """
        d, c = self.dialect, _instances.c
        held: dict[str, str] = {}
        for start in range(0, len(instance_ids), 500):
            batch = instance_ids[start : start + 500]
            mine = and_(c.instance_id.in_(batch), c.locked_by == worker_id)
            async with self._use(None) as conn:
                await conn.execute(
                    update(_instances)
                    .where(mine)
                    .values(
                        lock_expires_at=d.now_plus(
                            _coalesce_lease(c.lock_timeout_seconds, lease_seconds)
                        )
                    )
                )
                rows = await conn.execute(select(c.instance_id, c.status).where(mine))
                held.update({row[0]: row[1] for row in rows})
        return held

    async def unlock_instance(
        self, instance_id: str, worker_id: str, *, tx: Transaction | None = None
    ) -> bool:
        """Release our lock; ``False`` when it was not ours."""

        def build() -> Executable:
            c = _instances.c
            return (
                update(_instances)
                .where(
                    self.dialect.exact(c.instance_id, bindparam("p_instance_id")),
                    c.locked_by == bindparam("worker"),
                )
                .values(
                    locked_by=None,
                    locked_at=None,
                    lock_expires_at=None,
                    updated_at=self.dialect.now(),
                )
            )

        parameters = {"p_instance_id": instance_id, "worker": worker_id}
        async with self._use(tx) as conn:
            return await self._write(conn, "unlock", build, parameters) > 0

    async def instance_lock(self, instance_id: str) -> LockHolder | None:
        """Who holds an instance's lock (``None`` when the instance does not exist)."""
        return await self._lock_holder(
            _instances, self.dialect.exact(_instances.c.instance_id, instance_id)
        )

    async def release_expired_locks(
        self, framework: str, *, limit: int = 100
    ) -> list[tuple[str, str, str]]:
        """Clear this framework's expired instance locks.

        Returns ``(instance_id, workflow_name, status)`` of each instance released, so the
        caller can resume the ones that were running.
        """
        d, c = self.dialect, _instances.c
        expired = and_(
            c.framework == framework,
            c.locked_by.is_not(None),
            c.lock_expires_at.is_not(None),
            d.is_past(c.lock_expires_at),
        )
        released: list[tuple[str, str, str]] = []
        async with self._use(None) as conn:
            rows = (
                await conn.execute(
                    select(c.instance_id, c.workflow_name, c.status, c.locked_by)
                    .where(expired)
                    .limit(limit)
                )
            ).all()
            for instance_id, name, status, holder in rows:
                # Compare-and-clear: a lock renewed since the SELECT stays.
                result = await conn.execute(
                    update(_instances)
                    .where(c.instance_id == instance_id, c.locked_by == holder, expired)
                    .values(locked_by=None, locked_at=None, lock_expires_at=None)
                )
                if result.rowcount:
                    released.append((instance_id, name, status))
        return released

    # ------------------------------------------------------------------- system locks

    async def try_system_lock(self, name: str, worker_id: str, lease_seconds: float) -> bool:
        """Take or renew a named lock shared by all workers (e.g. leader election)."""
        d, c = self.dialect, system_locks.c
        take = (
            update(system_locks)
            .where(
                c.lock_name == name,
                or_(
                    c.locked_by.is_(None),
                    c.locked_by == worker_id,
                    c.lock_expires_at.is_(None),
                    d.is_due(c.lock_expires_at),
                ),
            )
            .values(
                locked_by=worker_id, locked_at=d.now(), lock_expires_at=d.now_plus(lease_seconds)
            )
        )
        async with self._use(None) as conn:
            if (await conn.execute(take)).rowcount > 0:
                return True
        # The row may not exist yet. Create it in a transaction of its own: on MySQL an
        # INSERT IGNORE followed by an UPDATE in one transaction deadlocks with a rival.
        async with self._use(None) as conn:
            created = (
                await conn.execute(d.insert_ignore(system_locks).values(lock_name=name))
            ).rowcount
        if not created:
            return False
        async with self._use(None) as conn:
            return (await conn.execute(take)).rowcount > 0

    async def release_system_lock(self, name: str, worker_id: str) -> bool:
        """Give a named lock up; ``False`` when it was not ours."""
        c = system_locks.c
        async with self._use(None) as conn:
            result = await conn.execute(
                update(system_locks)
                .where(c.lock_name == name, c.locked_by == worker_id)
                .values(locked_by=None, locked_at=None, lock_expires_at=None)
            )
        return result.rowcount > 0

    async def system_lock(self, name: str) -> LockHolder | None:
        """Who holds a named lock (``None`` when the lock was never taken)."""
        return await self._lock_holder(system_locks, system_locks.c.lock_name == name)

    async def _lock_holder(self, table: Table, row: ColumnElement[bool]) -> LockHolder | None:
        """The lock columns of the one row of ``table`` that ``row`` selects."""
        query = select(table.c.locked_by, table.c.lock_expires_at).where(row)
        async with self._use(None, read_only=True) as conn:
            found = (await conn.execute(query)).first()
        return LockHolder(found[0], found[1]) if found is not None else None

    # ------------------------------------------------------------------------ history

    async def append_history(
        self,
        instance_id: str,
        activity_id: str,
        event_type: str,
        data: str | bytes,
        *,
        ignore_duplicate: bool = False,
        tx: Transaction | None = None,
    ) -> bool:
        """Record one history event: ``str`` is JSON text, ``bytes`` a binary payload.

        The (instance, activity id) pair is unique: a second write raises
        :class:`~sqlalchemy.exc.IntegrityError`, or returns ``False`` with
        ``ignore_duplicate``.
        """

        binary = isinstance(data, bytes)
        parameters = {
            "p_instance_id": instance_id,
            "p_activity_id": activity_id,
            "p_event_type": event_type,
            "p_data_type": "binary" if binary else "json",
            "p_event_data": None if binary else data,
            "p_event_data_binary": data if binary else None,
        }
        if tx is None and not ignore_duplicate:
            await self._history_writer.write(parameters)  # shares a statement with others
            return True
        async with self._use(tx) as conn:
            return await self._append(conn, ignore_duplicate, parameters) > 0

    async def _append(
        self,
        conn: AsyncConnection,
        ignore_duplicate: bool,
        parameters: dict[str, Any] | list[dict[str, Any]],
    ) -> int:
        # created_at comes from the column default (the database clock, UTC sessions).
        def build() -> Executable:
            statement = (
                self.dialect.insert_ignore(_history) if ignore_duplicate else insert(_history)
            )
            return statement.values({name: bindparam(f"p_{name}") for name in _HISTORY_COLUMNS})

        return await self._write(conn, ("append", ignore_duplicate), build, parameters)

    async def _append_many(self, rows: list[dict[str, Any]]) -> None:
        async with self._use(None) as conn:
            await self._append(conn, False, rows)

    async def load_history(
        self,
        instance_id: str,
        *,
        after_id: int = 0,
        limit: int | None = None,
        tx: Transaction | None = None,
    ) -> list[HistoryRecord]:
        """History rows of an instance in write order (by id), optionally paged."""

        def build() -> Executable:
            h = _history.c
            query = (
                select(_history)
                .where(
                    self.dialect.exact(h.instance_id, bindparam("instance_id")),
                    h.id > bindparam("after_id"),
                )
                .order_by(h.id)
            )
            return query.limit(bindparam("limit")) if limit is not None else query

        parameters: dict[str, Any] = {"instance_id": instance_id, "after_id": after_id}
        if limit is not None:
            parameters["limit"] = limit
        statement = self._cached(("history", limit is not None), build)
        async with self._use(tx, read_only=True) as conn:
            return [HistoryRecord(*row) for row in await conn.execute(statement, parameters)]

    async def archive_history(self, instance_id: str, *, tx: Transaction | None = None) -> int:
        """Move an instance's history to ``workflow_history_archive``; returns the row count."""
        h, a = _history.c, workflow_history_archive
        copy = insert(a).from_select(
            [
                "instance_id",
                "activity_id",
                "event_type",
                "data_type",
                "event_data",
                "event_data_binary",
                "created_at",
                "archived_at",
            ],
            select(
                h.instance_id,
                h.activity_id,
                h.event_type,
                h.data_type,
                h.event_data,
                h.event_data_binary,
                h.created_at,
                self.dialect.now(),
            )
            .where(self.dialect.exact(h.instance_id, instance_id))
            .order_by(h.id),
        )
        async with self._use(tx, atomic=True) as conn:
            await conn.execute(copy)
            result = await conn.execute(
                delete(_history).where(self.dialect.exact(h.instance_id, instance_id))
            )
        return result.rowcount

    # ------------------------------------------------------------------------- timers

    async def add_timer(
        self,
        instance_id: str,
        timer_id: str,
        expires_at: datetime,
        *,
        activity_id: str | None = None,
        tx: Transaction | None = None,
    ) -> bool:
        """Register a timer; ``False`` when that timer id already exists for the instance."""
        statement = self.dialect.insert_ignore(_timers).values(
            instance_id=instance_id,
            timer_id=timer_id,
            expires_at=expires_at,
            activity_id=activity_id,
            created_at=self.dialect.now(),
        )
        async with self._use(tx) as conn:
            return (await conn.execute(statement)).rowcount > 0

    async def find_due_timers(
        self, framework: str, *, limit: int, tx: Transaction | None = None
    ) -> list[TimerRecord]:
        """This framework's expired timers of instances waiting for a timer, oldest first."""
        t, i = _timers.c, _instances.c
        query = (
            select(t.instance_id, i.workflow_name, t.timer_id, t.expires_at, t.activity_id)
            .join_from(_timers, _instances, self.dialect.exact(t.instance_id, i.instance_id))
            .where(
                i.framework == framework,
                i.status == InstanceStatus.WAITING_FOR_TIMER,
                self.dialect.is_due(t.expires_at),
            )
            .order_by(t.expires_at)
            .limit(limit)
        )
        async with self._use(tx, read_only=True) as conn:
            return [TimerRecord(*row) for row in await conn.execute(query)]

    async def delete_timers(
        self, instance_id: str, timer_id: str | None = None, *, tx: Transaction | None = None
    ) -> int:
        """Delete one timer of an instance, or all of them when ``timer_id`` is ``None``."""
        conditions = [self.dialect.exact(_timers.c.instance_id, instance_id)]
        if timer_id is not None:
            conditions.append(self.dialect.exact(_timers.c.timer_id, timer_id))
        async with self._use(tx) as conn:
            return (await conn.execute(delete(_timers).where(*conditions))).rowcount

    # ------------------------------------------------------------------ compensations

    async def add_compensation(
        self,
        instance_id: str,
        activity_id: str,
        activity_name: str,
        args: str,
        *,
        tx: Transaction | None = None,
    ) -> int:
        """Register a compensation; returns its id."""
        statement = insert(_comps).values(
            instance_id=instance_id,
            activity_id=activity_id,
            activity_name=activity_name,
            args=args,
            created_at=self.dialect.now(),
        )
        async with self._use(tx) as conn:
            return await insert_returning_id(conn, statement, _comps.c.id)

    async def list_compensations(
        self, instance_id: str, *, tx: Transaction | None = None
    ) -> list[CompensationRecord]:
        """An instance's compensations, most recent first (the order to run them in)."""
        query = (
            select(_comps)
            .where(self.dialect.exact(_comps.c.instance_id, instance_id))
            .order_by(_comps.c.created_at.desc(), _comps.c.id.desc())
        )
        async with self._use(tx, read_only=True) as conn:
            return [CompensationRecord(*row) for row in await conn.execute(query)]

    async def delete_compensations(self, instance_id: str, *, tx: Transaction | None = None) -> int:
        """Forget an instance's compensations (after recur)."""
        async with self._use(tx) as conn:
            result = await conn.execute(
                delete(_comps).where(self.dialect.exact(_comps.c.instance_id, instance_id))
            )
        return result.rowcount


def _whole(seconds: float) -> int:
    """Seconds rounded up: stored timestamps may keep whole seconds, leases never shrink."""
    return int(-(-seconds // 1))


def _row_lease(column: Any) -> Any:
    """A row's own lock timeout (Edda sets one) or the ``:lease`` parameter."""
    return func.coalesce(column, bindparam("lease", type_=Integer))


def _coalesce_lease(column: Any, lease_seconds: float) -> Any:
    """A row's own lock timeout (Edda sets one) or ours, in whole seconds rounded up."""
    return func.coalesce(column, int(-(-lease_seconds // 1)))
