"""Helpers shared by the benchmark drivers (standard library only).

Each driver runs in its library's own virtualenv, so nothing here may import romancy,
edda or dbos. A driver is started once per benchmark case and reports one JSON object on
a stdout line that starts with ``RESULT_MARKER``; everything else it prints is ignored.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import itertools
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

RESULT_MARKER = "BENCH-RESULT "

#: Cases every driver understands.
#:   a        N workflows of 5 no-op steps, ``--concurrency`` of them in flight at a time
#:   b        one workflow of ``--steps`` no-op steps, each step stamps perf_counter()
#:   c-build  one workflow of ``--steps`` no-op steps, then a "gate" step that kills the
#:            process (os._exit) before it is recorded: the instance is left unfinished
#:   c-resume a fresh worker resumes that instance; it replays the recorded steps, runs
#:            the gate step for real and completes
CASES = ("a", "b", "c-build", "c-resume")


def parse_args(prog: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("case", choices=CASES)
    parser.add_argument("--db", required=True, help="database URL in this library's dialect")
    parser.add_argument("--workflows", type=int, default=1000, help="case a: how many")
    parser.add_argument("--concurrency", type=int, default=1, help="case a: in flight")
    parser.add_argument("--warmup", type=int, default=20, help="case a: untimed workflows")
    parser.add_argument("--steps", type=int, default=2000, help="cases b and c: steps")
    parser.add_argument("--window", type=int, default=200, help="case b: steps per window")
    parser.add_argument("--instance-id", default=None, help="case c-resume: what to resume")
    parser.add_argument("--worker-id", default="bench-c-worker", help="case c: worker id")
    return parser.parse_args()


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize_a(
    latencies: Sequence[float], wall: float, workflows: int, steps_per_workflow: int
) -> dict[str, Any]:
    """Throughput and latency figures of case a (latencies and wall in seconds)."""
    steps = workflows * steps_per_workflow
    return {
        "workflows": workflows,
        "steps": steps,
        "wall_s": wall,
        "steps_per_s": steps / wall if wall > 0 else None,
        "workflows_per_s": workflows / wall if wall > 0 else None,
        "p50_ms": percentile(latencies, 50) * 1000.0,
        "p99_ms": percentile(latencies, 99) * 1000.0,
        "max_ms": max(latencies) * 1000.0,
    }


def summarize_b(stamps: Sequence[float], window: int) -> dict[str, Any]:
    """Mean time per step over the first and the last ``window`` steps.

    ``stamps[i]`` is the perf_counter() taken when step ``i`` began. The time of step
    ``i`` is ``stamps[i] - stamps[i-1]``: everything the engine does between two step
    bodies (recording the previous step, bookkeeping, starting the next one).
    """
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    window = min(window, len(gaps))
    if window <= 0:
        raise ValueError("case b needs at least two steps")
    first = sum(gaps[:window]) / window
    last = sum(gaps[-window:]) / window
    return {
        "steps": len(stamps),
        "window": window,
        "first_ms_per_step": first * 1000.0,
        "last_ms_per_step": last * 1000.0,
        "last_over_first": last / first if first > 0 else None,
        "all_ms_per_step": (stamps[-1] - stamps[0]) / len(gaps) * 1000.0,
    }


def emit(result: dict[str, Any]) -> None:
    """Report the result to the orchestrator."""
    sys.stdout.write(RESULT_MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()


def die_hard(result: dict[str, Any]) -> None:
    """Report, then end the process at once: no shutdown, no cleanup (a simulated crash)."""
    emit(result)
    sys.stderr.flush()
    os._exit(0)


def now() -> float:
    return time.perf_counter()


def resumed(
    *, resume_s: float, worker_start_s: float, history_rows_before: int, trigger: str
) -> dict[str, Any]:
    """Case c-resume's result: the same keys from every library."""
    return {
        "resume_s": resume_s,
        "worker_start_s": worker_start_s,
        "history_rows_before": history_rows_before,
        "trigger": trigger,
    }


def main(
    prog: str,
    case_a: Callable[[argparse.Namespace], Any],
    case_b: Callable[[argparse.Namespace], Any],
    case_c_build: Callable[[argparse.Namespace], Any],
    case_c_resume: Callable[[argparse.Namespace], Any],
) -> None:
    """Run the case the command line names and report its result.

    A handler may be a coroutine function (run on a fresh event loop) or a plain one.
    """
    logging.basicConfig(level=logging.WARNING)
    args = parse_args(prog)
    handlers = {"a": case_a, "b": case_b, "c-build": case_c_build, "c-resume": case_c_resume}
    result = handlers[args.case](args)
    emit(asyncio.run(result) if inspect.iscoroutine(result) else result)
