"""Spec: SPEC.md in this folder."""

from __future__ import annotations

from collections.abc import Callable

from romancy.storage import Storage, parse_database_url
from romancy.storage.introspection import compare_schemas, read_schema
from romancy.storage.migrations import bundled_migrations_dir
from tests.support.peers import run_dbmate

VERSION = "20251217000000"


async def test_dbmate_up_status_down_up(make_database: Callable[[], str]) -> None:
    url = make_database("dbmate")
    folder = bundled_migrations_dir() / parse_database_url(url).dialect
    for step in ("up", "status", "down", "up"):
        result = run_dbmate(url, folder, step)
        assert result.returncode == 0, f"dbmate {step} failed:\n{result.stdout}{result.stderr}"
        if step == "status":
            assert f"[X] {VERSION}_initial_schema.sql" in result.stdout

    by_dbmate = await Storage.open(url)
    by_us = await Storage.open(make_database("runner"))
    try:
        states = await by_dbmate.migrator().status()
        assert [(s.version, s.applied) for s in states] == [(VERSION, True)]
        assert await by_dbmate.migrate() == []
        await by_us.migrate()
        async with by_dbmate.engine.connect() as a, by_us.engine.connect() as b:
            differences = compare_schemas(
                await read_schema(b, by_us.dialect), await read_schema(a, by_dbmate.dialect)
            )
        assert not differences, "\n".join(map(str, differences))
    finally:
        await by_dbmate.close()
        await by_us.close()
