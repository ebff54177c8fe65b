"""Benchmark driver for DBOS Transact (PyPI ``dbos``); runs in .venvs/dbos.

Usage: dbos_bench.py CASE --db URL [options]; see _common.py for the cases. The URL is
DBOS's system database: ``sqlite:///path`` or ``postgresql://...`` (DBOS has no MySQL).

DBOS is used the way its documentation shows for synchronous Python: decorated
functions, a workflow is run by calling it (it executes durably in the calling thread),
and concurrency comes from threads.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _common import die_hard, main, now, resumed, summarize_a, summarize_b
from dbos import DBOS, DBOSConfig

STAMPS: list[float] = []
CRASH_AT_GATE = False
BUILD_STARTED = 0.0


@DBOS.step()
def noop(n: int) -> int:
    return n


@DBOS.step()
def stamped_noop(n: int) -> int:
    STAMPS.append(now())
    return n


@DBOS.step()
def gate(n: int) -> int:
    if CRASH_AT_GATE:
        die_hard({"instance_id": DBOS.workflow_id, "build_s": now() - BUILD_STARTED})
    return n


@DBOS.workflow()
def bench_five_steps(x: int) -> int:
    for i in range(5):
        noop(i)
    return x


@DBOS.workflow()
def bench_long(steps: int) -> int:
    for i in range(steps):
        stamped_noop(i)
    return steps


@DBOS.workflow()
def bench_resume(steps: int) -> int:
    for i in range(steps):
        noop(i)
    return gate(steps)


def make_dbos(db: str) -> None:
    config: DBOSConfig = {
        "name": "bench",
        "system_database_url": db,
        "log_level": "WARNING",
        # Fixed, so the recovering process (case c-resume) counts as the same version.
        "application_version": "bench-1",
    }
    DBOS(config=config)


def run_batch(count: int, concurrency: int) -> tuple[list[float], float]:
    numbers: queue.SimpleQueue[int] = queue.SimpleQueue()
    for x in range(count):
        numbers.put(x)
    latencies: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            try:
                x = numbers.get_nowait()
            except queue.Empty:
                return
            began = now()
            result = bench_five_steps(x)
            elapsed = now() - began
            if result != x:
                raise RuntimeError(f"bench_five_steps({x}) returned {result!r}")
            with lock:
                latencies.append(elapsed)

    began = now()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    return latencies, now() - began


def case_a(args: Any) -> dict[str, Any]:
    make_dbos(args.db)
    DBOS.launch()
    try:
        if args.warmup:  # untimed; one alone first, as in the other drivers
            run_batch(1, 1)
            run_batch(args.warmup - 1, args.concurrency)
        latencies, wall = run_batch(args.workflows, args.concurrency)
    finally:
        DBOS.destroy()
    result = summarize_a(latencies, wall, args.workflows, 5)
    result["concurrency"] = args.concurrency
    return result


def case_b(args: Any) -> dict[str, Any]:
    make_dbos(args.db)
    DBOS.launch()
    try:
        began = now()
        result = bench_long(args.steps)
        total = now() - began
    finally:
        DBOS.destroy()
    if result != args.steps or len(STAMPS) != args.steps:
        raise RuntimeError(f"bench_long returned {result!r} after {len(STAMPS)} steps")
    return {**summarize_b(STAMPS, args.window), "total_s": total}


def case_c_build(args: Any) -> dict[str, Any]:
    global CRASH_AT_GATE, BUILD_STARTED
    CRASH_AT_GATE = True
    make_dbos(args.db)
    DBOS.launch()
    BUILD_STARTED = now()
    bench_resume(args.steps)  # never returns: the gate kills us
    raise RuntimeError("the gate step did not stop the process")


def case_c_resume(args: Any) -> dict[str, Any]:
    # DBOS recovers this executor's PENDING workflows when it launches: launch() is the
    # resume trigger, so worker start and resume overlap here.
    make_dbos(args.db)
    began = now()
    DBOS.launch()
    launched = now()
    try:
        handle = DBOS.retrieve_workflow(args.instance_id)
        result = handle.get_result(polling_interval_sec=0.005)
        finished = now()
        # untimed: the recorded steps, less the gate step that ran during the resume
        history = len(DBOS.list_workflow_steps(args.instance_id)) - 1
    finally:
        DBOS.destroy()
    if result != args.steps:
        raise RuntimeError(f"recovered workflow returned {result!r}")
    return resumed(
        resume_s=finished - began,
        worker_start_s=launched - began,
        history_rows_before=history,
        trigger="DBOS.launch() (startup recovery of PENDING workflows) in a fresh process",
    )


if __name__ == "__main__":
    main("dbos_bench", case_a, case_b, case_c_build, case_c_resume)
