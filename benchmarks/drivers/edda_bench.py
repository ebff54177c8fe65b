"""Benchmark driver for Edda (edda-framework 0.16.2); runs in .venvs/edda.

Usage: edda_bench.py CASE --db URL [options]; see _common.py for the cases. The URL must
name an async SQLAlchemy driver (sqlite+aiosqlite, postgresql+asyncpg, mysql+aiomysql).

Edda's ``Workflow.start()`` runs the new instance in the caller until it completes or
suspends, so the time of one ``start()`` call is that workflow's start-to-finish latency.
"""

from __future__ import annotations

import asyncio
from typing import Any

from _common import die_hard, main, now, resumed, summarize_a, summarize_b
from edda import EddaApp, WorkflowContext, activity, workflow

STAMPS: list[float] = []
CRASH_AT_GATE = False
BUILD_STARTED = 0.0


@activity
async def noop(ctx: WorkflowContext, n: int) -> int:
    return n


@activity
async def stamped_noop(ctx: WorkflowContext, n: int) -> int:
    STAMPS.append(now())
    return n


@activity
async def gate(ctx: WorkflowContext, n: int) -> int:
    if CRASH_AT_GATE:
        die_hard({"instance_id": ctx.instance_id, "build_s": now() - BUILD_STARTED})
    return n


@workflow
async def bench_five_steps(ctx: WorkflowContext, x: int) -> int:
    for i in range(5):
        await noop(ctx, i)
    return x


@workflow
async def bench_long(ctx: WorkflowContext, steps: int) -> int:
    for i in range(steps):
        await stamped_noop(ctx, i)
    return steps


@workflow
async def bench_resume(ctx: WorkflowContext, steps: int) -> int:
    for i in range(steps):
        await noop(ctx, i)
    return await gate(ctx, steps)


def make_app(db: str) -> EddaApp:
    return EddaApp(service_name="bench", db_url=db)


async def check_completed(app: EddaApp, instance_id: str, expected: int) -> None:
    instance = await app.storage.get_instance(instance_id)
    if instance is None or instance["status"] != "completed":
        status = None if instance is None else instance["status"]
        raise RuntimeError(f"Edda instance {instance_id} ended {status!r}, not completed")
    output = instance["output_data"]
    value = output.get("result", output) if isinstance(output, dict) else output
    if value != expected:
        raise RuntimeError(f"Edda instance {instance_id} returned {output!r}, expected {expected}")


async def run_batch(app: EddaApp, count: int, concurrency: int) -> tuple[list[float], float, list]:
    numbers = iter(range(count))
    latencies: list[float] = []
    started: list[tuple[str, int]] = []

    async def worker() -> None:
        for x in numbers:
            began = now()
            iid = await bench_five_steps.start(x=x)
            latencies.append(now() - began)
            started.append((iid, x))

    began = now()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, now() - began, started


async def case_a(args: Any) -> dict[str, Any]:
    app = make_app(args.db)
    await app.initialize()
    try:
        # Warm-up, untimed: one workflow alone first (it creates the per-workflow
        # rows every library keeps), then the rest at the measured concurrency.
        if args.warmup:
            await run_batch(app, 1, 1)
            await run_batch(app, args.warmup - 1, args.concurrency)
        latencies, wall, started = await run_batch(app, args.workflows, args.concurrency)
        for iid, x in started:  # untimed: every instance really completed
            await check_completed(app, iid, x)
    finally:
        await app.shutdown()
    result = summarize_a(latencies, wall, args.workflows, 5)
    result["concurrency"] = args.concurrency
    return result


async def case_b(args: Any) -> dict[str, Any]:
    app = make_app(args.db)
    await app.initialize()
    try:
        began = now()
        iid = await bench_long.start(steps=args.steps)
        total = now() - began
        await check_completed(app, iid, args.steps)
    finally:
        await app.shutdown()
    if len(STAMPS) != args.steps:
        raise RuntimeError(f"bench_long ran {len(STAMPS)} steps, expected {args.steps}")
    return {**summarize_b(STAMPS, args.window), "total_s": total}


async def case_c_build(args: Any) -> dict[str, Any]:
    global CRASH_AT_GATE, BUILD_STARTED
    CRASH_AT_GATE = True
    app = make_app(args.db)
    await app.initialize()
    BUILD_STARTED = now()
    await bench_resume.start(steps=args.steps)  # never returns: the gate kills us
    raise RuntimeError("the gate step did not stop the process")


async def case_c_resume(args: Any) -> dict[str, Any]:
    # The orchestrator released the dead worker's instance lock beforehand (what Edda's
    # stale-lock recovery does once the lease has expired); resume() takes it again.
    app = make_app(args.db)
    began_start = now()
    await app.initialize()
    started = now()
    try:
        history = len(await app.storage.get_history(args.instance_id))
        began = now()
        await bench_resume.resume(args.instance_id)
        finished = now()
        await check_completed(app, args.instance_id, args.steps)
    finally:
        await app.shutdown()
    return resumed(
        resume_s=finished - began,
        worker_start_s=started - began_start,
        history_rows_before=history,
        trigger="Workflow.resume(instance_id) on a fresh EddaApp (lock released first)",
    )


if __name__ == "__main__":
    main("edda_bench", case_a, case_b, case_c_build, case_c_resume)
