"""A worker process for the LLM crash test.

    python -m tests.llm.worker --db URL --base-url URL [--lease S]

Starts an App on the database, creates the tool-effects table, starts one ``llm_trip``
instance against the stand-in model at ``--base-url`` (printing its id), then serves
until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from sqlalchemy import text

import romancy
from tests.llm.workflows import EFFECTS_TABLE, llm_trip


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--lease", type=float, default=3.0)
    args = parser.parse_args()
    options: dict[str, Any] = {
        "stale_lock_timeout": args.lease,
        "stale_lock_interval": 0.5,
        "workflow_resumption_interval": 0.2,
        "worker_id": "llm-doomed",
    }
    async with romancy.App(database=args.db, **options) as app:
        async with app.storage.transaction() as tx:
            await tx.connection.execute(text(EFFECTS_TABLE))
        spec = {"question": "Where should Ada go?", "base_url": args.base_url}
        print(await app.start_workflow(llm_trip, spec), flush=True)
        await asyncio.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
