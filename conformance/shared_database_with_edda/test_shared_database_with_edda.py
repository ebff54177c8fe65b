"""Spec: SPEC.md in this folder."""

from __future__ import annotations

from collections.abc import Callable

from romancy.storage import Storage
from romancy.storage.introspection import compare_schemas, read_schema
from tests.support.peers import run_edda


async def test_our_runner_on_an_edda_database(make_database: Callable[[], str]) -> None:
    url = make_database("edda")
    run_edda("migrate", url)
    storage = await Storage.open(url)
    try:
        async with storage.engine.connect() as conn:
            before = await read_schema(conn, storage.dialect)
        assert [s.applied for s in await storage.migrator().status()] == [True]
        assert await storage.migrate() == []
        async with storage.engine.connect() as conn:
            assert compare_schemas(before, await read_schema(conn, storage.dialect)) == []
    finally:
        await storage.close()


async def test_edda_starts_on_our_database(make_database: Callable[[], str]) -> None:
    url = make_database("ours")
    storage = await Storage.open(url)
    try:
        await storage.migrate()
        result = run_edda("start", url)
        assert result["ok"] and result["worker_id"]
        assert await storage.migrate() == []
    finally:
        await storage.close()
