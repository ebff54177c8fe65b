"""Spec: SPEC.md in this folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from romancy.storage import Storage
from romancy.storage.introspection import SchemaShape, compare_schemas, read_schema
from romancy.storage.migrations import bundled_migrations_dir
from tests.support.peers import run_edda


async def _schema_of(url: str, migrations: Path | None = None) -> SchemaShape:
    storage = await Storage.open(url)
    try:
        await storage.migrate(migrations)
        async with storage.engine.connect() as conn:
            return await read_schema(conn, storage.dialect)
    finally:
        await storage.close()


async def _edda_schema(url: str) -> SchemaShape:
    run_edda("migrate", url)
    storage = await Storage.open(url)
    try:
        async with storage.engine.connect() as conn:
            return await read_schema(conn, storage.dialect)
    finally:
        await storage.close()


async def test_our_schema_equals_eddas(make_database: Callable[[], str]) -> None:
    ours = await _schema_of(make_database("ours"))
    eddas = await _edda_schema(make_database("edda"))
    assert len(ours) == 14
    differences = compare_schemas(eddas, ours)
    assert not differences, "schema differs from Edda's:\n" + "\n".join(map(str, differences))


async def test_a_one_column_difference_is_reported(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    scratch = tmp_path / "migrations"
    shutil.copytree(bundled_migrations_dir(), scratch)
    for file in scratch.glob("*/*.sql"):
        text = file.read_text()
        # workflow_definitions.source_code loses its NOT NULL, nothing else changes.
        changed = text.replace("source_code TEXT NOT NULL", "source_code TEXT").replace(
            "source_code LONGTEXT NOT NULL", "source_code LONGTEXT"
        )
        assert changed != text
        file.write_text(changed)
    eddas = await _edda_schema(make_database("edda"))
    scratch_schema = await _schema_of(make_database("scratch"), scratch)
    differences = [str(d) for d in compare_schemas(eddas, scratch_schema)]
    assert differences == [
        "workflow_definitions: column source_code nullable: expected False, found True"
    ]
