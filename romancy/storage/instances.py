"""Workflow instances and definitions: create, read, update, list, find to resume.

Reached through ``Storage`` (``storage.instances``). Creating an instance and changing
its columns are the hot writes: they run as cached statements on the fast write path,
and concurrent creations share one statement (group commit).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import partial
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Integer,
    and_,
    bindparam,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from romancy.errors import DuplicateRecordError, WorkflowAlreadyExistsError
from romancy.storage.collisions import refuse_twin
from romancy.storage.connection import Database, Transaction
from romancy.storage.execution import Store
from romancy.storage.locks import whole_seconds
from romancy.storage.records import (
    InstancePage,
    InstanceQuery,
    InstanceRecord,
    NewInstance,
    decode_page_token,
    encode_page_token,
)
from romancy.storage.search import search_conditions
from romancy.storage.tables import workflow_definitions, workflow_instances
from romancy.wire.status import InstanceStatus

_instances = workflow_instances

#: Marks an ``update_instance`` column left as it is.
UNSET: Any = object()

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


class InstanceStore(Store):
    """Rows of ``workflow_instances`` and ``workflow_definitions``."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        # Definition rows never go away: each (name, hash) is written once per process.
        self._known_definitions: set[tuple[str, str]] = set()
        self._instance_writers = {
            locked: self._group_writer(partial(self._insert_instances, locked=locked))
            for locked in (False, True)
        }

    async def ensure_definition(
        self,
        workflow_name: str,
        source_hash: str,
        source_code: str,
        *,
        tx: Transaction | None = None,
    ) -> None:
        """Record a workflow definition unless that (name, hash) pair exists."""
        async with self._db.use(tx) as conn:
            await conn.execute(
                self._dialect.insert_ignore(workflow_definitions).values(
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
            parameters |= {
                "p_locked_by": new.locked_by,
                "lock_seconds": whole_seconds(new.lock_seconds),
            }
        definition = (new.workflow_name, new.source_hash)
        known = definition in self._known_definitions
        try:
            if tx is None and known:
                await self._instance_writers[locked].write(parameters)  # may share a statement
            else:
                async with self._db.use(tx, atomic=not known) as conn:
                    if not known:
                        await self.ensure_definition(
                            new.workflow_name,
                            new.source_hash,
                            new.source_code,
                            tx=Transaction(conn),
                        )
                    await self._insert_instances(conn, parameters, locked=locked)
        except DuplicateRecordError:
            async with self._db.use(None, read_only=True) as conn:
                await refuse_twin(conn, _instances.c.instance_id, new.instance_id, "instance id")
            raise WorkflowAlreadyExistsError(
                f"a workflow instance with id {new.instance_id!r} already exists"
            ) from None
        if tx is None:  # committed: the definition row exists from now on
            self._known_definitions.add(definition)

    async def _insert_instances(
        self,
        conn: AsyncConnection,
        parameters: dict[str, Any] | list[dict[str, Any]],
        *,
        locked: bool,
    ) -> None:
        def build() -> Executable:
            d = self._dialect
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

        await self._db.write(conn, ("create", locked), build, parameters)

    async def get_instance(
        self, instance_id: str, *, tx: Transaction | None = None
    ) -> InstanceRecord | None:
        """The instance with this id, or ``None``."""
        statement = self._db.cached(
            "get",
            lambda: select(_instances).where(
                self._dialect.exact(_instances.c.instance_id, bindparam("instance_id"))
            ),
        )
        async with self._db.use(tx, read_only=True) as conn:
            row = (await conn.execute(statement, {"instance_id": instance_id})).first()
        return InstanceRecord(*row) if row is not None else None

    async def update_instance(
        self,
        instance_id: str,
        *,
        status: str = UNSET,
        output_data: str | None = UNSET,
        input_data: str = UNSET,
        current_activity_id: str | None = UNSET,
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
            if value is not UNSET:
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
            values["updated_at"] = self._dialect.now()
            if release_lock:
                values |= {"locked_by": None, "locked_at": None, "lock_expires_at": None}
            conditions = [self._dialect.exact(c.instance_id, bindparam("p_instance_id"))]
            if statuses:
                conditions.append(
                    c.status.in_([bindparam(f"only_if_status_{n}") for n in range(len(statuses))])
                )
            if "only_if_locked_by" in parameters:
                conditions.append(c.locked_by == bindparam("only_if_locked_by"))
            return update(_instances).where(*conditions).values(values)

        async with self._db.use(tx) as conn:
            return await self._db.write(conn, ("update", shape), build, parameters) > 0

    async def find_resumable(
        self,
        framework: str,
        workflows: Collection[str],
        *,
        limit: int,
        tx: Transaction | None = None,
    ) -> list[tuple[str, str]]:
        """``(instance_id, workflow_name)`` of this framework's running, unlocked instances
        of ``workflows`` (those of workflows other services define never fill a batch)."""
        query = (
            select(_instances.c.instance_id, _instances.c.workflow_name)
            .where(
                _instances.c.framework == framework,
                _instances.c.workflow_name.in_(workflows),
                _instances.c.status == InstanceStatus.RUNNING,
                _instances.c.locked_by.is_(None),
            )
            .order_by(_instances.c.updated_at)
            .limit(limit)
        )
        async with self._db.use(tx, read_only=True) as conn:
            return [(r[0], r[1]) for r in await conn.execute(query)]

    async def list_instances(self, query: InstanceQuery) -> InstancePage:
        """Instances matching ``query``, newest first, one page at a time."""
        c, d = _instances.c, self._dialect
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
        async with self._db.use(None, read_only=True) as conn:
            rows = [InstanceRecord(*row) for row in await conn.execute(statement)]
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        token = encode_page_token(rows[-1].started_at, rows[-1].instance_id) if more else None
        return InstancePage(rows, token, more)

    async def find_interrupted_endings(
        self, framework: str, workflows: Collection[str], *, limit: int = 100
    ) -> list[str]:
        """Unlocked instances of ``framework``'s ``workflows`` whose failure or cancellation
        was cut short.

        ``compensating``, or ``cancelled`` without the output a finished cancellation
        writes: their compensations may still be pending.
        """
        c = _instances.c
        query = (
            select(c.instance_id)
            .where(
                c.framework == framework,
                c.workflow_name.in_(workflows),
                c.locked_by.is_(None),
                or_(
                    c.status == InstanceStatus.COMPENSATING,
                    and_(c.status == InstanceStatus.CANCELLED, c.output_data.is_(None)),
                ),
            )
            .limit(limit)
        )
        async with self._db.use(None, read_only=True) as conn:
            return list((await conn.scalars(query)).all())

    async def restart_recurred(self, framework: str) -> int:
        """Set ``framework``'s unlocked ``recurred`` instances running again; returns how many."""
        c = _instances.c
        statement = (
            update(_instances)
            .where(
                c.framework == framework, c.status == InstanceStatus.RECURRED, c.locked_by.is_(None)
            )
            .values(status=InstanceStatus.RUNNING, updated_at=self._dialect.now())
        )
        async with self._db.use(None) as conn:
            return (await conn.execute(statement)).rowcount
