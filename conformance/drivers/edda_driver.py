"""Drive Edda (edda-framework 0.16.2) through its public API, for the conformance suite.

Runs inside Edda's own virtual environment, never imports romancy, and prints one JSON
object on its last stdout line. Commands:

    migrate --db URL   apply Edda's bundled dbmate migrations with Edda's own migrator
    start   --db URL   start an EddaApp on the database (initialise), then shut it down
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys


async def _migrate(db: str) -> dict[str, object]:
    from edda.storage.sqlalchemy_storage import SQLAlchemyStorage
    from sqlalchemy.ext.asyncio import create_async_engine

    storage = SQLAlchemyStorage(create_async_engine(db))
    try:
        await storage.initialize()
    finally:
        await storage.close()
    return {"ok": True}


async def _start(db: str) -> dict[str, object]:
    from edda import EddaApp

    app = EddaApp(service_name="romancy-conformance", db_url=db)
    await app.initialize()
    worker = app.worker_id
    await app.shutdown()
    return {"ok": True, "worker_id": worker}


def main() -> int:
    parser = argparse.ArgumentParser(prog="edda_driver")
    parser.add_argument("command", choices=["migrate", "start"])
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    handler = {"migrate": _migrate, "start": _start}[args.command]
    result = asyncio.run(handler(args.db))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
