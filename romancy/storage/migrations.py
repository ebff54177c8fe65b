"""A dbmate-compatible migration runner.

Files are dbmate's: ``<version>_<name>.sql`` in one folder per dialect, each with a
``-- migrate:up`` section and an optional ``-- migrate:down`` section. Applied versions are
rows of ``schema_migrations(version)``, so the real ``dbmate`` CLI, Go Romancy and Edda all
agree with us on what has been applied.

Guarantees:

* Every file is read and validated before anything is executed: a malformed folder
  changes nothing.
* Concurrent starters are serialised with the lock Edda uses (PostgreSQL advisory lock
  ``20251217000000``, MySQL ``GET_LOCK('edda_migration')``, SQLite's write lock); a
  waiter re-reads the applied versions once it holds the lock, so exactly one applies.
* Objects that already exist (created by a peer or by dbmate) are tolerated.
* A database whose ``schema_migrations`` claims a version whose tables are missing is
  reported as :class:`~romancy.errors.SchemaDriftError` and left untouched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from romancy.errors import (
    MalformedMigrationError,
    MigrationError,
    MigrationLockTimeoutError,
    SchemaDriftError,
)
from romancy.shipped import shipped_folder
from romancy.storage.dialects import Dialect
from romancy.storage.tables import schema_migrations, schema_version
from romancy.storage.urls import DialectName

#: What Edda writes to an empty ``schema_version`` (its CURRENT_SCHEMA_VERSION).
EDDA_SCHEMA_VERSION = 1
EDDA_SCHEMA_DESCRIPTION = "Initial schema with workflow_definitions"

_FILE_NAME = re.compile(r"^(?P<version>\d+)(?:_.*)?\.sql$")
_UP = re.compile(r"^--\s*migrate:up\b.*$", re.MULTILINE)
_DOWN = re.compile(r"^--\s*migrate:down\b.*$", re.MULTILINE)
_CREATE_TABLE = re.compile(
    r"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[`\"]?(\w+)", re.IGNORECASE
)
# The width dbmate itself uses; peers accept any width.
_CREATE_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR(128) PRIMARY KEY)"
)


@dataclass(frozen=True)
class Migration:
    """One parsed migration file."""

    version: str
    file_name: str
    up: tuple[str, ...]
    down: tuple[str, ...]

    @property
    def created_tables(self) -> tuple[str, ...]:
        """Tables the up section creates (used to detect drift)."""
        found = (_CREATE_TABLE.match(statement) for statement in self.up)
        return tuple(match.group(1) for match in found if match)


@dataclass(frozen=True)
class MigrationState:
    """Whether one known version is applied."""

    version: str
    file_name: str
    applied: bool


def bundled_migrations_dir() -> Path:
    """The migrations shipped with romancy (inside the wheel, or in a source checkout)."""
    folder = shipped_folder("_migrations", "schema/db/migrations")
    if folder is None:
        raise MigrationError("romancy's bundled migrations are missing from this installation")
    return folder


def load_migrations(source: Path, dialect: DialectName) -> list[Migration]:
    """Read and validate every migration for ``dialect`` under ``source``.

    ``source`` holds one sub-folder per dialect (``sqlite/``, ``postgresql/``,
    ``mysql/``), as dbmate, Go Romancy and Edda lay them out.
    """
    folder = source / dialect
    if not folder.is_dir():
        raise MalformedMigrationError(f"migration folder {folder} does not exist")
    migrations: list[Migration] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".sql") or not path.is_file():
            continue
        migration = parse_migration(path.name, path.read_text(encoding="utf-8"))
        if migration.version in seen:
            raise MalformedMigrationError(
                f"{path}: version {migration.version} is also used by {seen[migration.version]}"
            )
        seen[migration.version] = path.name
        migrations.append(migration)
    if not migrations:
        raise MalformedMigrationError(f"migration folder {folder} holds no .sql files")
    return sorted(migrations, key=lambda m: int(m.version))


def parse_migration(file_name: str, text: str) -> Migration:
    """Parse one dbmate file, raising :class:`MalformedMigrationError` naming the flaw."""
    named = _FILE_NAME.match(file_name)
    if not named:
        raise MalformedMigrationError(
            f"{file_name}: a migration file name must start with a numeric version, "
            "as in 20251217000000_initial_schema.sql"
        )
    up_marker = _UP.search(text)
    if not up_marker:
        raise MalformedMigrationError(f"{file_name}: no '-- migrate:up' line")
    down_marker = _DOWN.search(text)
    if down_marker and down_marker.start() < up_marker.start():
        raise MalformedMigrationError(f"{file_name}: '-- migrate:down' comes before up")
    if split_statements(text[: up_marker.start()]):
        raise MalformedMigrationError(f"{file_name}: SQL found before '-- migrate:up'")
    if len(_UP.findall(text)) > 1 or len(_DOWN.findall(text)) > 1:
        raise MalformedMigrationError(f"{file_name}: repeated migrate:up/down marker")
    up_text = text[up_marker.end() : down_marker.start() if down_marker else len(text)]
    down_text = text[down_marker.end() :] if down_marker else ""
    try:
        up, down = split_statements(up_text), split_statements(down_text)
    except ValueError as exc:
        raise MalformedMigrationError(f"{file_name}: {exc}") from None
    if not up:
        raise MalformedMigrationError(f"{file_name}: the up section holds no statement")
    return Migration(named["version"], file_name, tuple(up), tuple(down))


def split_statements(sql: str) -> list[str]:
    """Split SQL on top-level semicolons, honouring quotes and comments.

    Comment-only fragments are dropped. An unterminated quote or block comment is a
    ``ValueError``.
    """
    statements: list[str] = []
    current: list[str] = []
    has_code = False
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end == -1 else end
            continue
        if ch == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end == -1:
                raise ValueError("unterminated /* comment")
            i = end + 2
            current.append(" ")
            continue
        if ch in "'\"`":
            end = i + 1
            while True:
                end = sql.find(ch, end)
                if end == -1:
                    raise ValueError(f"unterminated {ch} quote")
                if sql.startswith(ch * 2, end):  # doubled quote escapes itself
                    end += 2
                    continue
                break
            current.append(sql[i : end + 1])
            has_code = True
            i = end + 1
            continue
        if ch == ";":
            if has_code:
                statements.append("".join(current).strip())
            current, has_code = [], False
        else:
            current.append(ch)
            has_code = has_code or not ch.isspace()
        i += 1
    if has_code:
        statements.append("".join(current).strip())
    return statements


class MigrationRunner:
    """Applies, reports and rolls back migrations on one database."""

    def __init__(
        self,
        engine: AsyncEngine,
        dialect: Dialect,
        migrations: Sequence[Migration],
        *,
        lock_timeout: float = 60.0,
    ) -> None:
        self._engine = engine
        self._dialect = dialect
        self._migrations = list(migrations)
        self._lock_timeout = lock_timeout

    @property
    def migrations(self) -> tuple[Migration, ...]:
        """The migrations this runner knows, oldest first."""
        return tuple(self._migrations)

    async def status(self) -> list[MigrationState]:
        """Each known version and whether it is applied; raises on schema drift."""
        async with self._engine.connect() as conn:
            applied = await self._applied(conn)
            await self._check_drift(conn, applied)
            await conn.rollback()
        return [
            MigrationState(m.version, m.file_name, m.version in applied) for m in self._migrations
        ]

    async def up(self) -> list[str]:
        """Apply every pending migration; returns the versions this call applied."""
        async with self._engine.connect() as conn, self._locked(conn):
            try:
                await conn.exec_driver_sql(_CREATE_VERSION_TABLE)
                applied = await self._applied(conn)
                await self._check_drift(conn, applied)
                done: list[str] = []
                for migration in self._migrations:
                    if migration.version in applied:
                        continue
                    await self._run(conn, migration, migration.up)
                    await conn.execute(
                        self._dialect.insert_ignore(schema_migrations).values(
                            version=migration.version
                        )
                    )
                    done.append(migration.version)
                await self._stamp_schema_version(conn)
                await conn.commit()
            except BaseException:
                await conn.rollback()
                raise
        return done

    async def down(self) -> str | None:
        """Roll back the most recently applied version; ``None`` if nothing is applied."""
        async with self._engine.connect() as conn, self._locked(conn):
            try:
                applied = await self._applied(conn)
                await self._check_drift(conn, applied)
                latest = max(applied, key=int, default=None)
                if latest is None:
                    await conn.rollback()
                    return None
                migration = next((m for m in self._migrations if m.version == latest), None)
                if migration is None:
                    raise MigrationError(
                        f"cannot roll back version {latest}: no migration file for it here"
                    )
                await self._run(conn, migration, migration.down)
                await conn.execute(
                    schema_migrations.delete().where(schema_migrations.c.version == latest)
                )
                await conn.commit()
            except BaseException:
                await conn.rollback()
                raise
        return latest

    async def _stamp_schema_version(self, conn: AsyncConnection) -> None:
        """Record Edda's schema version 1 in an empty ``schema_version``, as Edda does.

        Edda stamps it at start-up with a check-then-insert that fails when several
        processes start on a fresh database at once; a stamped database spares them that.
        """
        exists = await conn.run_sync(lambda c: inspect(c).has_table("schema_version"))
        if not exists or await conn.scalar(select(func.count()).select_from(schema_version)):
            return
        await conn.execute(
            self._dialect.insert_ignore(schema_version).values(
                version=EDDA_SCHEMA_VERSION, description=EDDA_SCHEMA_DESCRIPTION
            )
        )

    def _locked(self, conn: AsyncConnection) -> _MigrationLock:
        return _MigrationLock(self._dialect, conn, self._lock_timeout)

    async def _applied(self, conn: AsyncConnection) -> set[str]:
        exists = await conn.run_sync(lambda c: inspect(c).has_table("schema_migrations"))
        if not exists:
            return set()
        return set((await conn.scalars(select(schema_migrations.c.version))).all())

    async def _check_drift(self, conn: AsyncConnection, applied: set[str]) -> None:
        existing = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        for migration in self._migrations:
            if migration.version not in applied:
                continue
            missing = [t for t in migration.created_tables if t not in existing]
            if missing:
                raise SchemaDriftError(
                    f"schema_migrations records version {migration.version} "
                    f"({migration.file_name}) but its tables are missing: "
                    f"{', '.join(missing)}. The database was changed outside the migrations; "
                    "nothing was applied. Restore the tables or delete that schema_migrations "
                    "row to re-apply the migration."
                )

    async def _run(
        self, conn: AsyncConnection, migration: Migration, statements: Sequence[str]
    ) -> None:
        # MySQL commits DDL implicitly, so savepoints would not help there.
        use_savepoints = self._dialect.name != "mysql"
        for number, statement in enumerate(statements, start=1):
            savepoint = await conn.begin_nested() if use_savepoints else None
            try:
                await conn.exec_driver_sql(statement)
            except DBAPIError as exc:
                if savepoint is not None:
                    await savepoint.rollback()
                if self._dialect.is_already_exists(exc):
                    continue
                raise MigrationError(
                    f"{migration.file_name}: statement {number} failed: {getattr(exc, 'orig', exc)}"
                ) from exc
            if savepoint is not None:
                await savepoint.commit()


class _MigrationLock:
    """Holds the cross-process migration lock for the body of an ``async with``."""

    def __init__(self, dialect: Dialect, conn: AsyncConnection, timeout: float) -> None:
        self._dialect, self._conn, self._timeout = dialect, conn, timeout

    async def __aenter__(self) -> None:
        if not await self._dialect.try_migration_lock(self._conn, self._timeout):
            raise MigrationLockTimeoutError(
                f"another process held the migration lock for more than {self._timeout:g} s"
            )

    async def __aexit__(self, *exc: object) -> None:
        await self._dialect.release_migration_lock(self._conn)
