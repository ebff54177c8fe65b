"""Benchmark driver for romancy (this repository); runs in /work/main/.venv.

Usage: romancy_bench.py CASE --db URL [options]; see _common.py for the cases.
"""

from __future__ import annotations

import asyncio
from typing import Any

from _common import die_hard, main, now, resumed, summarize_a, summarize_b

import romancy

STAMPS: list[float] = []
CRASH_AT_GATE = False
BUILD_STARTED = 0.0


@romancy.activity
async def noop(ctx: romancy.WorkflowContext, n: int) -> int:
    return n


@romancy.activity
async def stamped_noop(ctx: romancy.WorkflowContext, n: int) -> int:
    STAMPS.append(now())
    return n


@romancy.activity
async def gate(ctx: romancy.WorkflowContext, n: int) -> int:
    if CRASH_AT_GATE:
        die_hard({"instance_id": ctx.instance_id, "build_s": now() - BUILD_STARTED})
    return n


@romancy.workflow
async def bench_five_steps(ctx: romancy.WorkflowContext, x: int) -> int:
    for i in range(5):
        await noop(ctx, i)
    return x


@romancy.workflow
async def bench_long(ctx: romancy.WorkflowContext, steps: int) -> int:
    for i in range(steps):
        await stamped_noop(ctx, i)
    return steps


@romancy.workflow
async def bench_resume(ctx: romancy.WorkflowContext, steps: int) -> int:
    for i in range(steps):
        await noop(ctx, i)
    return await gate(ctx, steps)


async def run_batch(app: romancy.App, count: int, concurrency: int) -> tuple[list[float], float]:
    """Run ``count`` five-step workflows, ``concurrency`` in flight; latencies and wall."""
    numbers = iter(range(count))
    latencies: list[float] = []

    async def worker() -> None:
        for x in numbers:
            began = now()
            iid = await app.start_workflow(bench_five_steps, x)
            result = await app.wait_for_result(iid, timeout=120)
            latencies.append(now() - began)
            if result != x:
                raise RuntimeError(f"instance {iid} returned {result!r}, expected {x}")

    began = now()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, now() - began


async def case_a(args: Any) -> dict[str, Any]:
    async with romancy.App(database=args.db, service_name="bench") as app:
        # Warm-up, untimed: one workflow alone first (it creates the per-workflow
        # rows every library keeps), then the rest at the measured concurrency.
        if args.warmup:
            await run_batch(app, 1, 1)
            await run_batch(app, args.warmup - 1, args.concurrency)
        latencies, wall = await run_batch(app, args.workflows, args.concurrency)
    result = summarize_a(latencies, wall, args.workflows, 5)
    result["concurrency"] = args.concurrency
    return result


async def case_b(args: Any) -> dict[str, Any]:
    async with romancy.App(database=args.db, service_name="bench") as app:
        began = now()
        iid = await app.start_workflow(bench_long, args.steps)
        result = await app.wait_for_result(iid, timeout=3600)
        total = now() - began
    if result != args.steps or len(STAMPS) != args.steps:
        raise RuntimeError(f"bench_long returned {result!r} after {len(STAMPS)} steps")
    return {**summarize_b(STAMPS, args.window), "total_s": total}


async def case_c_build(args: Any) -> dict[str, Any]:
    global CRASH_AT_GATE, BUILD_STARTED
    CRASH_AT_GATE = True
    app = romancy.App(database=args.db, service_name="bench", worker_id=args.worker_id)
    await app.start()
    BUILD_STARTED = now()
    iid = await app.start_workflow(bench_resume, args.steps)
    await app.wait_for_result(iid, timeout=3600)  # never returns: the gate kills us
    raise RuntimeError("the gate step did not stop the process")


async def case_c_resume(args: Any) -> dict[str, Any]:
    # A restarted worker (same worker id): it may take back the instance it held when
    # it died, and the resumption loop leaves that instance alone (it is locked).
    app = romancy.App(database=args.db, service_name="bench", worker_id=args.worker_id)
    began_start = now()
    await app.start()
    started = now()
    try:
        history = len(await app.storage.history.load_history(args.instance_id))
        began = now()
        if not await app.engine.resume(args.instance_id):
            raise RuntimeError(f"engine.resume({args.instance_id}) declined")
        result = await app.wait_for_result(args.instance_id, timeout=3600)
        finished = now()
    finally:
        await app.shutdown()
    if result != args.steps:
        raise RuntimeError(f"resumed instance returned {result!r}")
    return resumed(
        resume_s=finished - began,
        worker_start_s=started - began_start,
        history_rows_before=history,
        trigger="App.engine.resume(instance_id) on a fresh App with the same worker_id",
    )


if __name__ == "__main__":
    main("romancy_bench", case_a, case_b, case_c_build, case_c_resume)
