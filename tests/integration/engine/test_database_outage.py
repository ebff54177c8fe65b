"""The database goes away for 10 s mid-run: work is delayed, none is lost or repeated."""

from __future__ import annotations

import asyncio
import sqlite3
import time

from sqlalchemy import text

import romancy
from romancy import App, WorkflowContext, parse_database_url
from romancy.storage import Storage
from tests.support.fixtures import FAST_OPTIONS
from tests.support.proxy import Proxy

from .helpers import eventually

OUTAGE = 10.0


@romancy.activity
async def out_step(ctx: WorkflowContext, step: int) -> int:
    await ctx.session.execute(
        text("INSERT INTO outage_effects (instance_id, step) VALUES (:i, :s)"),
        {"i": ctx.instance_id, "s": step},
    )
    await asyncio.sleep(0.2)
    return step


@romancy.workflow
async def out_flow(ctx: WorkflowContext, steps: int) -> int:
    return sum([await out_step(ctx, n) for n in range(steps)])


async def test_outage_delays_but_loses_nothing(storage: Storage) -> None:
    async with storage.transaction() as tx:
        await tx.connection.execute(text("DROP TABLE IF EXISTS outage_effects"))
        await tx.connection.execute(
            text("CREATE TABLE outage_effects (instance_id VARCHAR(64), step INT)")
        )
    db = storage.url
    proxy: Proxy | None = None
    url = db.original
    if db.dialect != "sqlite":
        proxy = Proxy(db.url.host or "127.0.0.1", int(db.url.port or 0))
        await proxy.start()
        url = parse_database_url(url).url.set(port=proxy.port).render_as_string(False)
    app = App(database=url, **FAST_OPTIONS)
    await app.start()
    try:
        ids = [await app.start_workflow(out_flow, 12) for _ in range(6)]

        async def progressed() -> bool:
            return len(await storage.history.load_history(ids[0])) >= 3

        await eventually(progressed, what="some steps before the outage")
        await _outage(storage, proxy)
        results = [await app.wait_for_result(i, timeout=120) for i in ids]
        assert results == [sum(range(12))] * 6
        async with storage.transaction(read_only=True) as tx:
            rows = (
                await tx.connection.execute(text("SELECT instance_id, step FROM outage_effects"))
            ).all()
        assert sorted(rows) == sorted((i, s) for i in ids for s in range(12))
    finally:
        await app.shutdown()
        if proxy is not None:
            await proxy.cut()


async def _outage(storage: Storage, proxy: Proxy | None) -> None:
    if proxy is not None:
        await proxy.cut()
        await asyncio.sleep(OUTAGE)
        await proxy.restore()
        return
    # SQLite has no server to lose: another process holds the database's write lock.
    path = storage.url.sqlite_path
    assert path is not None

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=60)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            time.sleep(OUTAGE)
            conn.execute("COMMIT")
        finally:
            conn.close()

    await asyncio.to_thread(hold)
