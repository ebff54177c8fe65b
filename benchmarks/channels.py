"""Channel benchmark: romancy and Edda side by side (wake-up latency and throughput).

Run it with the repository's own venv::

    .venv/bin/python benchmarks/channels.py              # full run (see docs/benchmarks.md)
    .venv/bin/python benchmarks/channels.py --quick      # every size 5x smaller
    .venv/bin/python benchmarks/channels.py --variants pg-notify --cases latency

Each library runs in its own virtualenv (romancy: .venv; Edda: .venvs/edda), in
subprocesses executing benchmarks/drivers/channels_<lib>.py. Each case of each library
gets a fresh database. The table per variant shows both libraries and the ratio
romancy / Edda; everything is saved to benchmarks/results/<stamp>-channels.json.

Variants: pg-notify (PostgreSQL, LISTEN/NOTIFY on), pg-poll (PostgreSQL, NOTIFY off:
polling only), sqlite (a file; polling), mysql (MariaDB; polling).

Cases:
  latency     two processes. The consumer process runs workflows that loop `receive` on
              a broadcast channel (10 messages per instance, then the next instance);
              the publisher process publishes from plain code, one message at a time:
              it waits until the consumer instance is suspended in `receive`, pauses a
              random while, puts time.time() into the message and publishes. An activity
              right after `receive` records time.time() minus that stamp.
  throughput  one process: 4 consumer workflows wait on a competing channel; N messages
              are published one after another while they consume, then one stop
              message per consumer. msgs/s = N / (first publish .. last consumer done).
  drain       (only with --cases ...,drain) the same, but the N messages and the stops
              are published first; then the 4 consumers start at once.
              msgs/s = N / (their start .. last one done).
  In both, every message must be consumed exactly once (checked from the consumers'
  results), else the case fails.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import run as suite  # noqa: E402  (benchmarks/run.py: venvs, databases, machine facts)

REPO = suite.REPO
DRIVERS = suite.DRIVERS
RESULTS = suite.RESULTS
DriverFailed = suite.DriverFailed
Outcome = suite.Outcome

LIBS = ("romancy", "edda")
CASES = ("latency", "throughput", "drain")
DEFAULT_CASES = ("latency", "throughput")
#: variant -> (backend of run.py, --notify for the drivers, description)
VARIANTS: dict[str, tuple[str, str, str]] = {
    "pg-notify": ("postgresql", "on", "PostgreSQL, LISTEN/NOTIFY on"),
    "pg-poll": ("postgresql", "off", "PostgreSQL, NOTIFY off (polling)"),
    "sqlite": ("sqlite", "auto", "SQLite file (polling)"),
    "mysql": ("mysql", "auto", "MariaDB (polling)"),
}
#: Edda's resumption loop checks every 1 s when it polls (not configurable); with NOTIFY
#: it waits for a notification, or notify_fallback_interval (--edda-notify-fallback).
EDDA_POLL_S = 1.0
NOTIFY_TARGET_MS = 20.0


# --------------------------------------------------------------------------- options


@dataclass
class Sizes:
    notify_messages: int = 100
    poll_messages: int = 15
    per_instance: int = 10
    throughput_messages: int = 500
    consumers: int = 4

    def shrink(self, factor: int) -> Sizes:
        return Sizes(
            notify_messages=max(4, self.notify_messages // factor),
            poll_messages=max(4, self.poll_messages // factor),
            per_instance=self.per_instance,
            throughput_messages=max(20, self.throughput_messages // factor),
            consumers=self.consumers,
        )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/channels.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="shrink every size 5x")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=",".join(VARIANTS))
    parser.add_argument("--libs", default=",".join(LIBS), help="romancy,edda")
    parser.add_argument(
        "--cases", default=",".join(DEFAULT_CASES), help="latency,throughput (default); drain"
    )
    parser.add_argument("--runs", type=int, default=1, help="repeat each case; medians shown")
    parser.add_argument("--notify-messages", type=int, help="latency, pg-notify: messages (100)")
    parser.add_argument("--poll-messages", type=int, help="latency, polling variants (15)")
    parser.add_argument("--per-instance", type=int, help="latency: messages per instance (10)")
    parser.add_argument("--throughput-messages", type=int, help="throughput, drain: messages")
    parser.add_argument("--consumers", type=int, help="throughput: competing consumers (4)")
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=1.0,
        help="romancy's workflow_resumption_interval in seconds (1.0, its default and the "
        "fixed interval of Edda)",
    )
    parser.add_argument(
        "--edda-notify-fallback",
        type=int,
        default=1,
        help="Edda's notify_fallback_interval in seconds, its polling while NOTIFY is on "
        "(1, as romancy's; Edda's default is 30)",
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="latency: messages left out of the figures (2)"
    )
    parser.add_argument(
        "--notify-pause-ms",
        default="20,60",
        help="latency with NOTIFY: the publisher's pause before each message, uniform in LO,HI ms",
    )
    parser.add_argument("--postgres-url", default=suite.DEFAULT_PG, help="server URL, no db")
    parser.add_argument("--mysql-url", default=suite.DEFAULT_MY, help="server URL, no db")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per driver run")
    parser.add_argument("--no-save", action="store_true", help="do not write results JSON")
    parser.add_argument(
        "--romancy-src",
        type=Path,
        help="import romancy from this directory instead of the working tree (see run.py)",
    )
    args = parser.parse_args(argv)
    args.variants = suite.pick(parser, args.variants, tuple(VARIANTS), "variants")
    args.libs = suite.pick(parser, args.libs, LIBS, "libs")
    args.cases = suite.pick(parser, args.cases, CASES, "cases")
    args.sizes = suite.override(Sizes().shrink(5) if args.quick else Sizes(), args)
    # run.py's database helpers read these names.
    args.backends = sorted({VARIANTS[v][0] for v in args.variants})
    return args


# --------------------------------------------------------------------------- drivers


@dataclass
class Proc:
    """One running driver process, its output going to a log file."""

    lib: str
    role: str
    command: list[str]
    popen: subprocess.Popen[bytes]
    out_path: Path
    err_path: Path

    def finish(self, timeout: float) -> dict[str, Any]:
        try:
            code = self.popen.wait(timeout=max(0.1, timeout))
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise DriverFailed(f"{self.lib} {self.role}: no result in time") from None
        out = self.out_path.read_text(errors="replace")
        err = self.err_path.read_text(errors="replace")
        return suite.driver_result(f"{self.lib} {self.role}", code, out, err, self.err_path)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


def spawn(lib: str, role: str, url: str, extra: list[str], pass_fds: tuple[int, ...] = ()) -> Proc:
    command = [str(suite.python_of(lib)), str(DRIVERS / f"channels_{lib}.py"), role]
    command += ["--db", url, *extra]
    env = suite.driver_env(lib)
    stem = suite.log_stem(lib, role)
    assert stem is not None, "main() opens the log directory first"
    out_path, err_path = stem.with_suffix(".out"), stem.with_suffix(".log")
    err_path.write_text(f"$ {shlex.join(command)}\n\n")
    with open(out_path, "wb") as out, open(err_path, "ab") as err:
        popen = subprocess.Popen(
            command, stdout=out, stderr=err, env=env, cwd=str(DRIVERS), pass_fds=pass_fds
        )
    return Proc(lib, role, command, popen, out_path, err_path)


# ----------------------------------------------------------------------------- cases


def poll_interval_of(lib: str, variant: str, args: argparse.Namespace) -> float:
    """The interval at which a consumer looks for resumable work (NOTIFY aside)."""
    if lib == "romancy":
        return float(args.poll_interval)
    return float(args.edda_notify_fallback) if VARIANTS[variant][1] == "on" else EDDA_POLL_S


def latency_case(
    lib: str, db: suite.Database, variant: str, args: argparse.Namespace
) -> dict[str, Any]:
    sizes: Sizes = args.sizes
    notify = VARIANTS[variant][1]
    polling = notify != "on"
    messages = sizes.poll_messages if polling else sizes.notify_messages
    if polling:
        # Uniform over (almost) one polling interval: messages arrive at random points
        # of the consumer's first idle pass after the previous message.
        interval = poll_interval_of(lib, variant, args)
        pause = f"20,{max(21.0, interval * 1000.0 - 50.0):.0f}"
    else:
        pause = args.notify_pause_ms
    url = db.url_for(lib)
    common = ["--notify", notify, "--messages", str(messages), "--deadline", str(args.timeout)]
    common += ["--poll-interval", str(args.poll_interval), "--warmup", str(args.warmup)]
    common += ["--edda-notify-fallback", str(args.edda_notify_fallback)]
    read_end, write_end = os.pipe()
    consumer = publisher = None
    try:
        consumer = spawn(
            lib,
            "latency-consumer",
            url,
            [*common, "--per-instance", str(sizes.per_instance), "--sync-fd", str(write_end)],
            pass_fds=(write_end,),
        )
        publisher = spawn(
            lib,
            "latency-publisher",
            url,
            [*common, "--pause-ms", pause, "--sync-fd", str(read_end)],
            pass_fds=(read_end,),
        )
    finally:
        os.close(read_end)
        os.close(write_end)
    try:
        assert consumer is not None and publisher is not None
        deadline = time.monotonic() + args.timeout + 30
        try:
            sent = publisher.finish(deadline - time.monotonic())
        except DriverFailed as error:
            # The consumer's own failure is the more telling one when it ended first.
            if consumer.popen.poll() not in (None, 0):
                consumer.finish(1)
            raise error
        got = consumer.finish(deadline - time.monotonic())
    finally:
        for proc in (consumer, publisher):
            if proc is not None:
                proc.stop()
    return {**got, "publisher": sent, "messages": messages, "pause_ms": pause}


def throughput_case(
    lib: str, db: suite.Database, variant: str, args: argparse.Namespace, upfront: bool = False
) -> dict[str, Any]:
    sizes: Sizes = args.sizes
    extra = ["--notify", VARIANTS[variant][1], "--messages", str(sizes.throughput_messages)]
    extra += ["--upfront"] if upfront else []
    extra += ["--consumers", str(sizes.consumers), "--deadline", str(args.timeout)]
    extra += ["--poll-interval", str(args.poll_interval)]
    extra += ["--edda-notify-fallback", str(args.edda_notify_fallback)]
    proc = spawn(lib, "throughput", db.url_for(lib), extra)
    try:
        result = proc.finish(args.timeout + 30)
    finally:
        proc.stop()
    if not result.get("exactly_once"):
        raise DriverFailed(
            f"{lib} throughput: not exactly once: {result.get('missing')} missing, "
            f"{result.get('duplicates')} duplicates"
        )
    return result


def drain_case(
    lib: str, db: suite.Database, variant: str, args: argparse.Namespace
) -> dict[str, Any]:
    return throughput_case(lib, db, variant, args, upfront=True)


CASE_FUNCS = {"latency": latency_case, "throughput": throughput_case, "drain": drain_case}


def measure(
    variant: str,
    case: str,
    lib: str,
    run: int,
    databases: suite.Databases,
    args: argparse.Namespace,
) -> Outcome:
    """One case of one library on one variant, on a fresh database; a failed attempt is
    tried once more (fresh database again), and both outcomes are kept."""
    backend = VARIANTS[variant][0]

    def attempt(current: suite.Attempt) -> dict[str, Any]:
        current.db = databases.fresh(backend, lib, f"ch_{variant.replace('-', '')}_{case[:3]}")
        return CASE_FUNCS[case](lib, current.db, variant, args)

    label = f"[{variant}] {case:<10} run {run} {lib:<8}"
    return suite.attempt_twice(label, databases, attempt, lambda values: _brief(case, values))


def _brief(case: str, values: dict[str, Any]) -> str:
    if case == "latency":
        return f"  p50 {values['p50_ms']:.1f} ms, p99 {values['p99_ms']:.1f} ms"
    return f"  {values['msgs_per_s']:.0f} msgs/s"


# ---------------------------------------------------------------------------- report

#: (case, label, key, higher is better, format)
METRICS: list[tuple[str, str, str, bool, str]] = [
    *[
        ("latency", f"latency {q} ms", f"{q}_ms", False, "{:.1f}")
        for q in ("p50", "p90", "p99", "max")
    ],
    ("latency", "messages over 100 ms %", "over_100ms_pct", False, "{:.0f}"),
    ("latency", "publish call p50 ms", "publisher.publish_p50_ms", False, "{:.2f}"),
    *[
        metric
        for case, name in (("throughput", "concurrent"), ("drain", "drain"))
        for metric in (
            (case, f"{name} msgs/s", "msgs_per_s", True, "{:.0f}"),
            (case, f"{name}: publish msgs/s", "publish_msgs_per_s", True, "{:.0f}"),
            (case, f"{name}: receive timeouts", "receive_timeouts", False, "{:.0f}"),
        )
    ],
]


def value_of(values: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        if not isinstance(values, dict):
            return None
        values = values.get(part)  # type: ignore[assignment]
    return values


def median_of(outcomes: list[Outcome], key: str) -> float | None:
    found = [value_of(o.values, key) for o in outcomes if o.error is None]
    numbers = [v for v in found if isinstance(v, int | float)]
    return statistics.median(numbers) if numbers else None


def median_ratio(outcomes: dict[str, list[Outcome]], key: str) -> float | None:
    """The median over runs of romancy / Edda in the same run (they ran back to back)."""
    ratios = []
    for mine, theirs in zip(outcomes.get("romancy", []), outcomes.get("edda", []), strict=False):
        r, p = value_of(mine.values, key), value_of(theirs.values, key)
        if mine.error is None and theirs.error is None and r is not None and p:
            ratios.append(r / p)
    return statistics.median(ratios) if ratios else None


def render_table(
    variant: str,
    results: dict[str, dict[str, list[Outcome]]],
    libs: list[str],
    args: argparse.Namespace,
) -> str:
    both = "romancy" in libs and "edda" in libs
    header = ["metric", *libs, *(["romancy/edda"] if both else []), "better"]
    rows: list[list[str]] = []
    if "latency" in results:
        intervals = []
        for lib in libs:
            if VARIANTS[variant][1] == "on":
                intervals.append(f"NOTIFY + {poll_interval_of(lib, variant, args):g} s poll")
            else:
                intervals.append(f"poll {poll_interval_of(lib, variant, args):g} s")
        rows.append(["wake-up by", *intervals, *([""] if both else []), ""])
    for case, label, key, higher, pattern in METRICS:
        if case not in results or (key == "over_100ms_pct" and VARIANTS[variant][1] != "on"):
            continue
        row = [label]
        for lib in libs:
            value = median_of(results[case].get(lib, []), key)
            row.append("n/a" if value is None else pattern.format(value))
        if both:
            ratio = median_ratio(results[case], key)
            row.append("n/a" if ratio is None else f"{ratio:.2f}x")
        row.append("higher" if higher else "lower")
        rows.append(row)
    runs = max((len(v) for r in results.values() for v in r.values()), default=0)
    title = f"### {variant}: {VARIANTS[variant][2]}"
    title += f" (median of {runs} runs)" if runs > 1 else ""
    notes = []
    for case, per_lib in results.items():
        for lib, outcomes in per_lib.items():
            for i, outcome in enumerate(outcomes, 1):
                if outcome.error is not None:
                    notes.append(f"- {lib} {case} run {i}: n/a - {' '.join(outcome.error.split())}")
                elif outcome.values.get("note"):
                    notes.append(f"- {lib} {case} run {i}: {outcome.values['note']}")
    return suite.markdown_table(title, header, rows, notes)


def target_checks(
    all_results: dict[str, dict[str, dict[str, list[Outcome]]]], args: argparse.Namespace
) -> list[str]:
    lines = []
    for variant, results in all_results.items():
        outcomes = results.get("latency", {}).get("romancy", [])
        p50 = median_of(outcomes, "p50_ms")
        if p50 is None:
            continue
        if VARIANTS[variant][1] == "on":
            ok = p50 < NOTIFY_TARGET_MS
            lines.append(
                f"{'PASS' if ok else 'MISS'}  {variant:<9} romancy latency p50 {p50:.1f} ms "
                f"(target < {NOTIFY_TARGET_MS:g} ms with NOTIFY)"
            )
        else:
            interval_ms = args.poll_interval * 1000.0
            worst = median_of(outcomes, "max_ms")
            p99 = median_of(outcomes, "p99_ms")
            assert worst is not None and p99 is not None
            verdict = "PASS" if worst <= interval_ms else "MISS"
            # The resumption loop sleeps interval x U(1.0, 1.3) after the pass that
            # resumed the previous message: that is the bound it is built to keep.
            jitter = "within" if worst <= interval_ms * 1.3 else "beyond"
            lines.append(
                f"{verdict}  {variant:<9} romancy latency p99 {p99:.0f} ms, max {worst:.0f} ms "
                f"(target: bounded by the polling interval, {interval_ms:.0f} ms; {jitter} "
                f"1.3x it, the loop's jitter)"
            )
    for variant, results in all_results.items():
        for case in ("throughput", "drain"):
            for lib, outcomes in results.get(case, {}).items():
                for i, outcome in enumerate(outcomes, 1):
                    if outcome.error is None:
                        per = outcome.values.get("per_consumer")
                        lines.append(
                            f"PASS  {variant:<9} {lib} {case} run {i}: every message consumed "
                            f"exactly once (per consumer: {per})"
                        )
    return lines


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    sizes: Sizes = args.sizes
    header = f"{sizes}, runs={args.runs}, romancy poll interval {args.poll_interval} s"
    session = suite.begin(args, argv, header, tag="-channels", orchestrator=False)
    scratch = Path(tempfile.mkdtemp(prefix="romancy-chbench-"))
    databases = suite.Databases(args, scratch)
    all_results: dict[str, dict[str, dict[str, list[Outcome]]]] = {
        v: {c: {lib: [] for lib in args.libs} for c in args.cases} for v in args.variants
    }
    try:
        for run in range(1, args.runs + 1):
            for variant in args.variants:
                for case in args.cases:
                    # Libraries back to back per case, so load from elsewhere hits them alike.
                    for lib in args.libs:
                        outcome = measure(variant, case, lib, run, databases, args)
                        all_results[variant][case][lib].append(outcome)
            print()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    tables = [render_table(v, all_results[v], args.libs, args) for v in all_results]
    checks = target_checks(all_results, args)
    settings = {
        "runs": args.runs,
        "sizes": sizes.__dict__,
        "romancy_poll_interval_s": args.poll_interval,
        "edda_poll_interval_s": EDDA_POLL_S,
        "edda_notify_fallback_s": args.edda_notify_fallback,
        "latency_warmup_messages": args.warmup,
    }
    suite.report(session, args, tables, checks, settings, all_results)
    failed = any(
        o.error for r in all_results.values() for per in r.values() for v in per.values() for o in v
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
