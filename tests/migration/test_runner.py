"""The migration runner on real databases: apply, status, roll back, and refuse bad input."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from romancy import (
    DatabaseUnavailableError,
    MalformedMigrationError,
    MigrationError,
    MigrationLockTimeoutError,
    SchemaDriftError,
)
from romancy.storage import Storage
from romancy.storage.migrations import bundled_migrations_dir
from romancy.storage.tables import SHARED_TABLES

VERSION = "20251217000000"


async def _tables(storage: Storage) -> set[str]:
    async with storage.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def _versions(storage: Storage) -> list[str]:
    async with storage.engine.connect() as conn:
        rows = await conn.execute(text("SELECT version FROM schema_migrations"))
        return sorted(r[0] for r in rows)


def _copy_of_bundle(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(bundled_migrations_dir(), target)
    return target


async def test_up_status_down_up(make_database: Callable[[], str]) -> None:
    storage = await Storage.open(make_database())
    try:
        runner = storage.migrator()
        assert [s.applied for s in await runner.status()] == [False]
        assert await runner.up() == [VERSION]
        assert set(SHARED_TABLES) <= await _tables(storage)
        assert await _versions(storage) == [VERSION]
        assert [s.applied for s in await runner.status()] == [True]
        assert await runner.up() == []
        assert await runner.down() == VERSION
        assert await _tables(storage) & set(SHARED_TABLES) == set()
        assert await _versions(storage) == []
        assert await runner.down() is None
        assert await runner.up() == [VERSION]
    finally:
        await storage.close()


async def test_schema_version_is_stamped_once_as_edda_does(
    make_database: Callable[[], str],
) -> None:
    storage = await Storage.open(make_database())
    try:
        runner = storage.migrator()
        await runner.up()
        await runner.up()
        async with storage.engine.connect() as conn:
            rows = (
                await conn.execute(text("SELECT version, description FROM schema_version"))
            ).all()
        assert [tuple(r) for r in rows] == [(1, "Initial schema with workflow_definitions")]
    finally:
        await storage.close()


async def test_tables_created_without_a_version_row_are_tolerated(
    make_database: Callable[[], str],
) -> None:
    storage = await Storage.open(make_database())
    try:
        (migration,) = storage.migrator().migrations
        async with storage.engine.begin() as conn:
            for statement in migration.up[:5]:  # some tables and indexes already exist
                await conn.exec_driver_sql(statement)
        assert await storage.migrate() == [VERSION]
        assert set(SHARED_TABLES) <= await _tables(storage)
    finally:
        await storage.close()


async def test_malformed_folder_changes_nothing(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    folder = _copy_of_bundle(tmp_path)
    for dialect in ("sqlite", "postgresql", "mysql"):
        (folder / dialect / "20260101000000_broken.sql").write_text(
            "CREATE TABLE extra (id INT);\n"
        )
    storage = await Storage.open(make_database())
    try:
        with pytest.raises(MalformedMigrationError, match=re.escape("20260101000000_broken.sql")):
            await storage.migrate(folder)
        assert await _tables(storage) == set()
    finally:
        await storage.close()


async def test_failing_statement_names_file_and_statement(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    folder = _copy_of_bundle(tmp_path)
    for dialect in ("sqlite", "postgresql", "mysql"):
        (folder / dialect / "20260101000000_bad.sql").write_text(
            "-- migrate:up\nCREATE TABLE extra (id INT);\nSELEKT nonsense;\n"
        )
    storage = await Storage.open(make_database())
    try:
        with pytest.raises(
            MigrationError, match=re.escape("20260101000000_bad.sql: statement 2 failed")
        ):
            await storage.migrate(folder)
        if storage.url.dialect == "mysql":
            # MySQL commits DDL as it goes: the first file stays applied and recorded,
            # so a corrected second file is all that runs next time.
            assert await _versions(storage) == [VERSION]
        else:
            # One transaction: neither file left anything behind.
            assert await _tables(storage) == set()
    finally:
        await storage.close()


async def test_drift_is_reported_and_nothing_is_applied(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    storage = await Storage.open(make_database())
    try:
        await storage.migrate()
        async with storage.engine.begin() as conn:
            await conn.exec_driver_sql("DROP TABLE channel_message_claims")
            await conn.exec_driver_sql("DROP TABLE system_locks")
        folder = _copy_of_bundle(tmp_path)
        for dialect in ("sqlite", "postgresql", "mysql"):
            (folder / dialect / "20260101000000_more.sql").write_text(
                "-- migrate:up\nCREATE TABLE extra (id INT);\n"
            )
        with pytest.raises(SchemaDriftError, match="channel_message_claims, system_locks"):
            await storage.migrate(folder)
        with pytest.raises(SchemaDriftError, match=VERSION):
            await storage.migrator(folder).status()
        assert "extra" not in await _tables(storage)
        assert await _versions(storage) == [VERSION]
    finally:
        await storage.close()


async def test_waiting_for_the_migration_lock_times_out(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    holder = await Storage.open(url)
    storage = await Storage.open(url)
    try:
        async with holder.engine.connect() as conn:
            assert await holder.dialect.try_migration_lock(conn, 1)
            try:
                with pytest.raises(MigrationLockTimeoutError, match="1 s"):
                    await storage.migrator(lock_timeout=1).up()
            finally:
                if holder.url.dialect == "sqlite":
                    await conn.rollback()
                else:
                    await holder.dialect.release_migration_lock(conn)
        assert await _tables(storage) & set(SHARED_TABLES) == set()
        assert await storage.migrate() == [VERSION]
    finally:
        await storage.close()
        await holder.close()


async def test_concurrent_runners_in_one_process(make_database: Callable[[], str]) -> None:
    url = make_database()
    stores = [await Storage.open(url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(s.migrate() for s in stores))
        assert sorted(results) == [[], [], [VERSION]]
    finally:
        for s in stores:
            await s.close()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://romancy:romancy@127.0.0.1:1/nowhere",
        "mysql://romancy:romancy@127.0.0.1:1/nowhere",
        "sqlite:////nonexistent-dir/sub/romancy.db",
    ],
)
async def test_unreachable_database(url: str) -> None:
    with pytest.raises(DatabaseUnavailableError, match="cannot connect to"):
        await Storage.open(url)
