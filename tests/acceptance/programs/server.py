"""A process serving an App over HTTP until interrupted, for the signal tests.

    python -m tests.acceptance.programs.server --db URL --port N --worker-id ID

Prints ``leading`` once this worker holds the leader lease, then serves until SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import romancy


async def main() -> int | str:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--worker-id", required=True)
    args = parser.parse_args()
    options = {"leader_heartbeat_interval": 0.2, "leader_lease_duration": 60.0}
    async with romancy.App(database=args.db, worker_id=args.worker_id, **options) as app:
        for _ in range(600):
            if app.is_leader:
                break
            await asyncio.sleep(0.05)
        else:
            return "never became the leader"
        print("leading", flush=True)
        await app.serve("127.0.0.1", args.port)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
