"""Durable timers: ``romancy.sleep`` for a duration, ``romancy.sleep_until`` for a moment.

    python examples/timer.py                      # SQLite in a temporary directory
    python examples/timer.py --db postgresql://user:pw@localhost/romancy

A reminder workflow sleeps 2 seconds, then sleeps until a wake-up time 2 seconds
later. While it sleeps it holds no lock and no memory: the timer is a database row, and
the workflow resumes from its history when the timer fires (on any worker, even after a
restart). Stored deadlines keep whole seconds, so a timer fires up to one second late,
never early. Watch for ``slept 2.x s`` and ``woke ... after the wake-up time`` lines.

The wake-up time comes from an activity: workflow code runs again on every resume, and
a recorded step gives it the same deadline each time (``datetime.now()`` would not).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from datetime import UTC, datetime, timedelta

import romancy
from romancy import WorkflowContext


@romancy.activity
async def now(ctx: WorkflowContext) -> datetime:
    return datetime.now(UTC)


@romancy.activity
async def remind(ctx: WorkflowContext, text: str) -> None:
    print(f"  [{datetime.now(UTC):%H:%M:%S}] reminder: {text}")


@romancy.workflow
async def reminder_workflow(ctx: WorkflowContext, seconds: float) -> dict[str, float]:
    started = await now(ctx)
    await romancy.sleep(ctx, seconds)
    after_sleep = await now(ctx)
    await remind(ctx, f"slept {(after_sleep - started).total_seconds():.1f} s")

    wake_at = after_sleep + timedelta(seconds=seconds)
    await romancy.sleep_until(ctx, wake_at)
    woke = await now(ctx)
    late = (woke - wake_at).total_seconds()
    await remind(ctx, f"woke {late:.1f} s after the wake-up time {wake_at:%H:%M:%S}")
    return {"slept": round((after_sleep - started).total_seconds(), 2), "late": round(late, 2)}


async def run(database: str) -> None:
    # The leader looks for due timers at least every timer_check_interval seconds (timers
    # set on this worker wake it sooner); 1 s keeps this example brisk.
    async with romancy.App(
        database=database, service_name="timer-example", timer_check_interval=1
    ) as app:
        instance_id = await app.start_workflow(reminder_workflow, 2.0)
        print(f"started reminder_workflow {instance_id}; it sleeps now")
        print("result:", await app.wait_for_result(instance_id, timeout=30))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    asyncio.run(run(args.db or f"sqlite:///{tempfile.mkdtemp()}/timer.db"))


if __name__ == "__main__":
    main()
