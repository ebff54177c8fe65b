"""Spec: SPEC.md in this folder."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable

from romancy.storage import Storage
from romancy.storage.introspection import read_schema

# Each process sleeps until the shared start instant, then migrates.
_PROGRAM = """
import sys, time
from romancy.cli import main
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
raise SystemExit(main(["migrate", "up", "--json", "--db", sys.argv[2]]))
"""


def test_four_processes_one_applies(make_database: Callable[[], str]) -> None:
    url = make_database("race")
    start_at = time.time() + 3.0  # time for four interpreters to import romancy
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _PROGRAM, str(start_at), url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [(p.wait(timeout=120), *p.communicate()) for p in processes]
    for code, out, err in outcomes:
        assert code == 0, f"a migrating process failed:\n{out}{err}"
    applied = [json.loads(out)["applied"] for _, out, _ in outcomes]
    assert sorted(applied) == [[], [], [], ["20251217000000"]]

    assert asyncio.run(_table_count(url)) == 14


async def _table_count(url: str) -> int:
    storage = await Storage.open(url)
    try:
        async with storage.engine.connect() as conn:
            return len(await read_schema(conn, storage.dialect))
    finally:
        await storage.close()
