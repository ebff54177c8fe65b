"""The schema our migrations produce, read from a scratch copy next to the live database.

The expected shape is not hard-coded: romancy's own migration runner applies the bundled
dbmate files to a throw-away location on the same backend (so type names, defaults and
index spellings come out exactly as that server reports them), the result is
introspected with :func:`~romancy.storage.introspection.read_schema`, and the location
is removed again:

* SQLite: a file in a temporary directory;
* PostgreSQL: a temporary schema in the same database (``CREATE SCHEMA``; the scratch
  connections' ``search_path`` points at it; ``DROP SCHEMA … CASCADE`` afterwards);
* MySQL/MariaDB: a temporary database on the same server, with the live database's
  default character set and collation (``CREATE DATABASE`` / ``DROP DATABASE``).

Scratch names are generated here (``romancy_check_<hex>``) and checked against
``[a-z0-9_]``; no user-supplied text ever reaches a statement.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.schema import CreateSchema, DropSchema

from romancy.errors import DatabaseUnavailableError, RomancyError
from romancy.storage import Storage, parse_database_url
from romancy.storage.dialects import Dialect
from romancy.storage.dialects.base import driver_error
from romancy.storage.faults import driver_reason
from romancy.storage.introspection import SchemaShape, read_schema
from romancy.storage.migrations import (
    Migration,
    MigrationRunner,
    bundled_migrations_dir,
    load_migrations,
)

SCRATCH_PREFIX = "romancy_check_"
_SAFE_NAME = re.compile(r"[a-z0-9_]+")
_SAFE_CHARSET = re.compile(r"[A-Za-z0-9_]+")

# PostgreSQL: insufficient privilege. MySQL: access denied to database, command denied,
# needs the SUPER-like privilege.
_PG_DENIED = "42501"
_MYSQL_DENIED = {1044, 1142, 1227}


class ScratchDatabaseError(RomancyError):
    """The scratch schema or database the check needs could not be created."""


@dataclass
class ExpectedSchema:
    """The shape our migrations produce on this backend, and which versions built it."""

    shape: SchemaShape
    versions: list[str]
    #: Problems met while cleaning up (the check itself is still valid).
    notes: list[str] = field(default_factory=list)


def scratch_name() -> str:
    """A fresh ``romancy_check_<hex>`` name, safe to write into DDL."""
    name = SCRATCH_PREFIX + uuid.uuid4().hex[:12]
    if not _SAFE_NAME.fullmatch(name):  # never user input, but checked all the same
        raise AssertionError(f"unsafe scratch name {name!r}")
    return name


async def expected_schema(storage: Storage) -> ExpectedSchema:
    """Migrate a scratch copy on ``storage``'s backend with our runner and introspect it."""
    migrations = load_migrations(bundled_migrations_dir(), storage.url.dialect)
    versions = [m.version for m in migrations]
    if storage.url.dialect == "sqlite":
        return ExpectedSchema(await _sqlite(storage.dialect, migrations), versions)
    if storage.url.dialect == "postgresql":
        return await _postgresql(storage, migrations, versions)
    return await _mysql(storage, migrations, versions)


async def _migrate_and_read(
    engine: AsyncEngine, dialect: Dialect, migrations: list[Migration]
) -> SchemaShape:
    try:
        await MigrationRunner(engine, dialect, migrations).up()
        async with engine.connect() as conn:
            shape = await read_schema(conn, dialect)
            await conn.rollback()
        return shape
    finally:
        await engine.dispose()


async def _sqlite(dialect: Dialect, migrations: list[Migration]) -> SchemaShape:
    with tempfile.TemporaryDirectory(prefix="romancy-check-") as folder:
        db = parse_database_url(f"sqlite:///{Path(folder) / 'expected.db'}")
        return await _migrate_and_read(dialect.create_engine(db, pool_size=1), dialect, migrations)


async def _postgresql(
    storage: Storage, migrations: list[Migration], versions: list[str]
) -> ExpectedSchema:
    name = scratch_name()
    where = f"schema {name} in {storage.url.redacted}"
    await _ddl(storage, CreateSchema(name), f"create the scratch {where}")
    try:
        options: dict[str, Any] = storage.dialect.engine_options(storage.url, 1)
        connect_args = dict(options.get("connect_args") or {})
        session = f"{connect_args.get('options', '')} -c search_path={name}".strip()
        options["connect_args"] = connect_args | {"options": session}
        engine = create_async_engine(storage.url.url, **options)
        storage.dialect.prepare_engine(engine, storage.url, autocommit=False)
        shape = await _migrate_and_read(engine, storage.dialect, migrations)
    finally:
        notes = await _cleanup(storage, DropSchema(name, cascade=True), f"scratch {where}")
    return ExpectedSchema(shape, versions, notes)


async def _mysql(
    storage: Storage, migrations: list[Migration], versions: list[str]
) -> ExpectedSchema:
    name = scratch_name()
    where = f"database {name} on {storage.url.redacted}"
    charset, collation = await _mysql_defaults(storage)
    create = f"CREATE DATABASE `{name}`"
    if charset and collation:
        create += f" CHARACTER SET {charset} COLLATE {collation}"
    await _ddl(storage, text(create), f"create the scratch {where}")
    try:
        scratch = storage.url.with_database(name)
        engine = storage.dialect.create_engine(scratch, pool_size=1)
        shape = await _migrate_and_read(engine, storage.dialect, migrations)
    finally:
        notes = await _cleanup(storage, text(f"DROP DATABASE `{name}`"), f"scratch {where}")
    return ExpectedSchema(shape, versions, notes)


async def _mysql_defaults(storage: Storage) -> tuple[str | None, str | None]:
    """The live database's default character set and collation (copied to the scratch)."""
    query = text(
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
        "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()"
    )
    try:
        async with storage.transaction(read_only=True) as tx:
            row = (await tx.connection.execute(query)).first()
    except DBAPIError as exc:
        raise DatabaseUnavailableError(
            f"cannot read the defaults of {storage.url.redacted}: {driver_reason(exc)}"
        ) from None
    if row is None:
        return None, None
    charset, collation = (str(v) if v is not None else "" for v in row)
    if _SAFE_CHARSET.fullmatch(charset) and _SAFE_CHARSET.fullmatch(collation):
        return charset, collation
    return None, None


async def _ddl(storage: Storage, statement: Any, what: str) -> None:
    try:
        async with storage.transaction() as tx:
            await tx.connection.execute(statement)
    except DBAPIError as exc:
        if _denied(storage, exc):
            raise ScratchDatabaseError(
                f"cannot {what}: {driver_reason(exc)}. {_privilege_hint(storage)}"
            ) from None
        raise DatabaseUnavailableError(f"cannot {what}: {driver_reason(exc)}") from None


async def _cleanup(storage: Storage, statement: Any, what: str) -> list[str]:
    try:
        async with storage.transaction() as tx:
            await tx.connection.execute(statement)
    except (DBAPIError, OSError) as exc:
        return [f"could not drop the {what} ({driver_reason(exc)}); drop it by hand"]
    return []


def _denied(storage: Storage, exc: DBAPIError) -> bool:
    orig = driver_error(exc)
    if storage.url.dialect == "postgresql":
        return getattr(orig, "sqlstate", None) == _PG_DENIED
    args: tuple[Any, ...] = getattr(orig, "args", ())
    return bool(args) and args[0] in _MYSQL_DENIED


def _privilege_hint(storage: Storage) -> str:
    user = storage.url.url.username or "<user>"
    if storage.url.dialect == "postgresql":
        return (
            "The check builds the expected schema by migrating a temporary schema in the "
            f"same database, which needs the CREATE privilege on it (GRANT CREATE ON "
            f"DATABASE {storage.url.database} TO {user})"
        )
    return (
        "The check builds the expected schema by migrating a temporary database on the "
        "same server, which needs the CREATE and DROP privileges for it (GRANT ALL ON "
        f"`{SCRATCH_PREFIX.replace('_', chr(92) + '_')}%`.* TO '{user}')"
    )
