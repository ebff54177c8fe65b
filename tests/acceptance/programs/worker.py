"""A worker process for the multi-process tests.

    python -m tests.acceptance.programs.worker --db URL [--start N] [--steps N]
        [--worker-id ID] [--lease S] [--run-for S] [--outside FILE]

Defines the test workflows, starts an App (migrating the database), optionally starts
``--start`` instances of ``mp_steps`` (printing each id), then serves until killed or
until ``--run-for`` seconds have passed. With ``--outside``, every execution of a step
also appends ``<instance> <step>`` to FILE, outside any transaction (an at-least-once
effect, unlike the ``mp_side_effects`` row).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from sqlalchemy import text

import romancy
from romancy import WorkflowContext

# When a server restart kills a pooled connection, SQLAlchemy's pool logs the failed reset
# with its traceback and discards the connection; the tests read this process's output for
# tracebacks of romancy's own, so the pool's notices are left out.
logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)

SIDE_EFFECTS = "CREATE TABLE IF NOT EXISTS mp_side_effects (instance_id VARCHAR(64), step INT)"
outside_file: str | None = None


@romancy.activity
async def mp_step(ctx: WorkflowContext, step: int, pause: float) -> int:
    if outside_file:
        # One O_APPEND write per line: whole lines even when a process is killed mid-run.
        fd = os.open(outside_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{ctx.instance_id} {step}\n".encode())
        finally:
            os.close(fd)
    # The work comes first: the transaction opens at the insert, so on SQLite it holds
    # the single write lock only briefly. The row commits with the step's history row:
    # it exists once per step exactly when that row does.
    await asyncio.sleep(pause)
    await ctx.session.execute(
        text("INSERT INTO mp_side_effects (instance_id, step) VALUES (:i, :s)"),
        {"i": ctx.instance_id, "s": step},
    )
    return step * step


@romancy.workflow
async def mp_steps(ctx: WorkflowContext, spec: dict[str, float]) -> int:
    total = 0
    for step in range(int(spec["steps"])):
        total += await mp_step(ctx, step, spec["pause"])
        if spec.get("sleep_at") == step:
            await romancy.sleep(ctx, spec.get("sleep", 1.0))
    return total


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--pause", type=float, default=0.1)
    parser.add_argument("--worker-id")
    parser.add_argument("--lease", type=float, default=4.0)
    parser.add_argument("--run-for", type=float, default=3600.0)
    parser.add_argument("--outside")
    args = parser.parse_args()
    global outside_file
    outside_file = args.outside
    options: dict[str, object] = {
        "stale_lock_timeout": args.lease,
        "stale_lock_interval": 0.5,
        "timer_check_interval": 0.5,
        "workflow_resumption_interval": 0.2,
        "leader_heartbeat_interval": 0.5,
        "leader_lease_duration": 3.0,
    }
    if args.worker_id:
        options["worker_id"] = args.worker_id
    async with romancy.App(database=args.db, **options) as app:
        async with app.storage.transaction() as tx:
            await tx.connection.execute(text(SIDE_EFFECTS))
        for _ in range(args.start):
            spec = {"steps": args.steps, "pause": args.pause}
            print(await app.start_workflow(mp_steps, spec), flush=True)
        print("ready", flush=True)
        await asyncio.sleep(args.run_for)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
