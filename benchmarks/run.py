"""Run the same durable-execution workload on romancy, Edda and DBOS Transact; compare.

Run it with the repository's own venv::

    .venv/bin/python benchmarks/run.py                # full run (see docs/benchmarks.md)
    .venv/bin/python benchmarks/run.py --quick        # everything 10x smaller
    .venv/bin/python benchmarks/run.py --backends sqlite --libs romancy,dbos --cases a

Every library runs in its own virtualenv (romancy: .venv; Edda: .venvs/edda; DBOS:
.venvs/dbos), in a subprocess executing a driver from benchmarks/drivers/. Each case of
each library gets a fresh database. Results are printed as a table per backend with the
ratios romancy / Edda and romancy / DBOS, and saved to benchmarks/results/<stamp>.json.

Cases (same logic in every library, every step a no-op):
  a  N workflows of 5 steps, at concurrency 1 and 16: steps/s and p50/p99 latency
  b  one workflow of S steps: mean time per step over the first W and the last W steps
  c  an instance with H recorded steps (its process died before the next one); a fresh
     worker resumes it: seconds from the resume trigger until its result is available
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import os
import platform
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))  # run as a script: make the repository's packages importable

from crosstest import venvs  # noqa: E402  (standard library only: no romancy needed)

DRIVERS = BENCH_DIR / "drivers"
RESULTS = BENCH_DIR / "results"
RESULT_MARKER = "BENCH-RESULT "

LIBS = ("romancy", "edda", "dbos")
BACKENDS = ("sqlite", "postgresql", "mysql")
CASES = ("a", "b", "c")
PEERS = ("edda", "dbos")

PEER_REQUIREMENTS = {"edda": venvs.EDDA_REQUIREMENTS, "dbos": ("dbos",)}

DEFAULT_PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql://romancy:romancy@127.0.0.1:54329")
DEFAULT_MY = os.environ.get("BENCH_MYSQL_URL", "mysql://romancy:romancy@127.0.0.1:33069")

UNSUPPORTED = {("dbos", "mysql"): "DBOS Transact supports SQLite and PostgreSQL only"}


# --------------------------------------------------------------------------- options


@dataclass
class Sizes:
    workflows: int = 1000
    warmup: int = 20
    concurrency: tuple[int, ...] = (1, 16)
    steps_b: int = 2000
    window_b: int = 200
    steps_c: int = 10_000

    def shrink(self, factor: int) -> Sizes:
        return Sizes(
            workflows=max(1, self.workflows // factor),
            warmup=max(2, self.warmup // factor),
            concurrency=self.concurrency,
            steps_b=max(4, self.steps_b // factor),
            window_b=max(1, self.window_b // factor),
            steps_c=max(1, self.steps_c // factor),
        )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="shrink every size 10x")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="sqlite,postgresql,mysql")
    parser.add_argument("--libs", default=",".join(LIBS), help="romancy,edda,dbos")
    parser.add_argument("--cases", default=",".join(CASES), help="a,b,c")
    parser.add_argument("--workflows", type=int, help="case a: workflows per run (1000)")
    parser.add_argument("--warmup", type=int, help="case a: untimed warm-up workflows (20)")
    parser.add_argument("--concurrency", help="case a: comma-separated levels (1,16)")
    parser.add_argument("--steps-b", type=int, help="case b: steps of the long workflow (2000)")
    parser.add_argument("--window-b", type=int, help="case b: steps per measured window (200)")
    parser.add_argument("--steps-c", type=int, help="case c: recorded steps to replay (10000)")
    parser.add_argument("--postgres-url", default=DEFAULT_PG, help="server URL, no database")
    parser.add_argument("--mysql-url", default=DEFAULT_MY, help="server URL, no database")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per driver run")
    parser.add_argument("--build-jobs", type=int, default=3, help="case c builds at a time")
    parser.add_argument("--no-save", action="store_true", help="do not write results JSON")
    parser.add_argument(
        "--romancy-src",
        type=Path,
        help="import romancy from this directory instead of the working tree, e.g. one "
        "commit exported with `git archive REV romancy schema | tar -x -C DIR`, so that "
        "edits made to the tree meanwhile do not leak into a series of runs",
    )
    args = parser.parse_args(argv)
    args.backends = pick(parser, args.backends, BACKENDS, "backends")
    args.libs = pick(parser, args.libs, LIBS, "libs")
    args.cases = pick(parser, args.cases, CASES, "cases")
    sizes = override(Sizes().shrink(10) if args.quick else Sizes(), args)
    if args.concurrency:  # a list: the string that override() set is parsed here
        sizes.concurrency = tuple(int(x) for x in args.concurrency.split(","))
    args.sizes = sizes
    return args


def pick(
    parser: argparse.ArgumentParser, raw: str, allowed: tuple[str, ...], what: str
) -> list[str]:
    """The comma-separated choices of option ``--what``, in canonical order."""
    chosen = [x.strip() for x in raw.split(",") if x.strip()]
    bad = [x for x in chosen if x not in allowed]
    if bad or not chosen:
        parser.error(f"--{what}: choose from {','.join(allowed)} (got {raw!r})")
    return [x for x in allowed if x in chosen]  # canonical order


def override(sizes: Any, args: argparse.Namespace) -> Any:
    """``sizes`` with every field that has an option of its own set from that option."""
    for name in sizes.__dataclass_fields__:
        if getattr(args, name, None) is not None:
            setattr(sizes, name, getattr(args, name))
    return sizes


# ------------------------------------------------------------------------ virtualenvs


def python_of(lib: str) -> Path:
    if lib == "romancy":
        return REPO / ".venv" / "bin" / "python"
    return venv_of(lib) / "bin" / "python"


def venv_of(lib: str) -> Path:
    """A peer's own virtualenv (Edda's is the one the test suite uses too)."""
    return venvs.edda_venv() if lib == "edda" else REPO / ".venvs" / lib


def ensure_venv(lib: str) -> Path:
    """The interpreter of ``lib``'s own virtualenv, created on first use."""
    if lib == "romancy":
        return python_of(lib)
    return venvs.ensure_venv(venv_of(lib), PEER_REQUIREMENTS[lib])


def venv_facts(lib: str, python: Path) -> dict[str, str]:
    dist = {"romancy": "romancy", "edda": "edda-framework", "dbos": "dbos"}[lib]
    code = (
        "import importlib.metadata as m, json, platform;"
        "print(json.dumps({'python': platform.python_version(), "
        f"'version': m.version({dist!r})}}))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -------------------------------------------------------------------------- databases


@dataclass
class Database:
    """One fresh database for one case of one library."""

    backend: str
    name: str  # database name, or the SQLite file path
    server: str = ""

    def url_for(self, lib: str) -> str:
        if self.backend == "sqlite":
            if lib == "edda":
                # Edda leaves SQLite's busy timeout at the driver default (5 s) and then
                # fails with "database is locked" at concurrency 16 on this machine;
                # give it the 30 s that romancy uses.
                return f"sqlite+aiosqlite:///{self.name}?timeout=30"
            return f"sqlite:///{self.name}"
        scheme, rest = self.server.split("://", 1)
        drivers = {
            ("edda", "postgresql"): "postgresql+asyncpg",
            ("edda", "mysql"): "mysql+aiomysql",
        }
        scheme = drivers.get((lib, self.backend), scheme)
        return f"{scheme}://{rest.rstrip('/')}/{self.name}"

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run one statement on this database (orchestrator side); rows affected."""
        if self.backend == "sqlite":
            with contextlib.closing(sqlite3.connect(self.name)) as conn:
                count = conn.execute(sql.replace("%s", "?"), params).rowcount
                conn.commit()
                return count
        if self.backend == "postgresql":
            import psycopg

            with psycopg.connect(f"{self.server.rstrip('/')}/{self.name}", autocommit=True) as c:
                return c.execute(sql, params).rowcount
        conn = _mysql_connect(self.server, self.name)
        try:
            with conn.cursor() as cur:
                count = cur.execute(sql, params)
            conn.commit()
            return count
        finally:
            conn.close()


def _mysql_connect(server: str, database: str | None = None) -> Any:
    import pymysql
    from sqlalchemy.engine import make_url

    url = make_url(server.replace("mysql://", "mysql+pymysql://", 1))
    return pymysql.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 3306,
        user=url.username,
        password=url.password or "",
        database=database,
        autocommit=True,
    )


class Databases:
    """Creates (drop first) and drops the per-case databases."""

    def __init__(self, args: argparse.Namespace, scratch: Path) -> None:
        self.args = args
        self.scratch = scratch

    def fresh(self, backend: str, lib: str, case: str) -> Database:
        name = f"bench_{lib}_{case}"
        if backend == "sqlite":
            path = self.scratch / f"{name}.db"
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return Database("sqlite", str(path))
        if backend == "postgresql":
            import psycopg

            server = self.args.postgres_url
            with psycopg.connect(f"{server.rstrip('/')}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
            return Database("postgresql", name, server)
        server = self.args.mysql_url
        conn = _mysql_connect(server)
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
                cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        finally:
            conn.close()
        return Database("mysql", name, server)

    def drop(self, db: Database) -> None:
        with contextlib.suppress(Exception):
            if db.backend == "sqlite":
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{db.name}{suffix}").unlink(missing_ok=True)
            elif db.backend == "postgresql":
                import psycopg

                with psycopg.connect(f"{db.server.rstrip('/')}/postgres", autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
            else:
                conn = _mysql_connect(db.server)
                try:
                    with conn.cursor() as cur:
                        cur.execute(f"DROP DATABASE IF EXISTS `{db.name}`")
                finally:
                    conn.close()


def romancy_revision() -> str:
    """The commit romancy was benchmarked at, and whether its sources had local edits."""
    if ROMANCY_SRC is not None:
        return f"sources from {ROMANCY_SRC} (--romancy-src)"
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "romancy"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head or 'unknown'}{' + uncommitted changes under romancy/' if dirty else ''}"


def server_versions(args: argparse.Namespace) -> dict[str, str]:
    facts = {"sqlite": sqlite3.sqlite_version}
    if "postgresql" in args.backends:
        try:
            import psycopg

            with psycopg.connect(f"{args.postgres_url.rstrip('/')}/postgres") as conn:
                facts["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as error:  # reported, the cases will fail on their own
            facts["postgresql"] = f"unavailable: {error}"
    if "mysql" in args.backends:
        try:
            conn = _mysql_connect(args.mysql_url)
            with conn.cursor() as cur:
                cur.execute("SELECT VERSION()")
                facts["mysql"] = cur.fetchone()[0]
            conn.close()
        except Exception as error:
            facts["mysql"] = f"unavailable: {error}"
    return facts


# ---------------------------------------------------------------------------- drivers


class DriverFailed(RuntimeError):
    pass


#: --romancy-src: the directory the romancy driver imports romancy from (None: the repo).
ROMANCY_SRC: Path | None = None

#: Where driver output goes (set by main): one log file per driver run.
LOG_DIR: Path | None = None
_log_counter = 0


def _error_summary(text: str) -> str:
    """The most telling line of a failed driver's output (its last exception line)."""
    # Drop the noise printed while the interpreter tears down after the real error.
    text = text.split("\nException ignored in", 1)[0]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in reversed(lines):
        head = ln.split(":", 1)[0]
        if head.endswith(("Error", "Exception", "Exit", "Interrupt")) and " " not in head:
            return ln[:300]
    return lines[-1][:300] if lines else "(no output)"


def driver_env(lib: str) -> dict[str, str]:
    """The environment of a driver process (romancy from --romancy-src, if given)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    if lib == "romancy" and ROMANCY_SRC is not None:
        env["PYTHONPATH"] = str(ROMANCY_SRC)
    return env


def log_stem(lib: str, role: str) -> Path | None:
    """The next driver run's log path, without suffix (None: logs are not kept)."""
    global _log_counter
    _log_counter += 1
    return LOG_DIR / f"{_log_counter:03d}-{lib}-{role}" if LOG_DIR else None


def driver_result(
    who: str, code: int | None, stdout: str, stderr: str, log: Path | None
) -> dict[str, Any]:
    """The JSON object a driver reported on its result line; DriverFailed without one."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith(RESULT_MARKER)]
    if code != 0 or not lines:
        where = f" (log: {log.relative_to(REPO) if log else 'not kept'})"
        raise DriverFailed(f"{who} exited {code}: {_error_summary(stderr or stdout)}{where}")
    return dict(json.loads(lines[-1][len(RESULT_MARKER) :]))


def run_driver(lib: str, case: str, url: str, extra: list[str], timeout: float) -> dict[str, Any]:
    """Run one driver process and return the JSON object it reported."""
    command = [str(python_of(lib)), str(DRIVERS / f"{lib}_bench.py"), case, "--db", url, *extra]
    stem = log_stem(lib, case)
    log = Path(f"{stem}.log") if stem else None
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=driver_env(lib),
            cwd=str(DRIVERS),
        )
    except subprocess.TimeoutExpired as error:
        raise DriverFailed(f"{lib} {case}: no result within {timeout:g} s") from error
    if log is not None:
        log.write_text(
            f"$ {shlex.join(command)}\n# exit {proc.returncode}\n\n## stdout\n{proc.stdout}"
            f"\n## stderr\n{proc.stderr}"
        )
    return driver_result(f"{lib} {case}", proc.returncode, proc.stdout, proc.stderr, log)


# ---------------------------------------------------------------------------- cases


@dataclass
class Outcome:
    """What one library did on one case of one backend (or why it did not)."""

    values: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Attempt:
    """One try at a measurement: which one, what failed before, the database it uses."""

    number: int
    failures: list[str]
    db: Database | None = None


def attempt_twice(
    label: str,
    databases: Databases,
    attempt: Callable[[Attempt], dict[str, Any]],
    brief: Callable[[dict[str, Any]], str] = lambda values: "",
) -> Outcome:
    """Run ``attempt`` (it sets ``Attempt.db``, dropped afterwards) and report it on one
    line after ``label``; a second try when the first fails, and both outcomes are kept."""
    failures: list[str] = []
    for number in (1, 2):
        began = time.perf_counter()
        print(f"{label} ...", end=" ", flush=True)
        current = Attempt(number, failures)
        try:
            values = attempt(current)
            print(f"ok ({time.perf_counter() - began:.1f} s){brief(values)}", flush=True)
            if failures:
                values["note"] = f"attempt {number}; earlier failure: {failures[0]}"
            return Outcome(values=values)
        except Exception as error:  # reported in the table, the run goes on
            failures.append(f"{type(error).__name__}: {error}")
            print(f"FAILED ({time.perf_counter() - began:.1f} s)", flush=True)
            print("    " + str(error).replace("\n", "\n    "), flush=True)
        finally:
            if current.db is not None:
                databases.drop(current.db)
    return Outcome(error=" / then: ".join(failures))


def case_a(lib: str, db: Database, sizes: Sizes, concurrency: int, timeout: float) -> dict:
    extra = [
        "--workflows",
        str(sizes.workflows),
        "--concurrency",
        str(concurrency),
        "--warmup",
        str(sizes.warmup),
    ]
    return run_driver(lib, "a", db.url_for(lib), extra, timeout)


def case_b(lib: str, db: Database, sizes: Sizes, timeout: float) -> dict:
    extra = ["--steps", str(sizes.steps_b), "--window", str(sizes.window_b)]
    return run_driver(lib, "b", db.url_for(lib), extra, timeout)


def build_c(lib: str, db: Database, sizes: Sizes, timeout: float) -> dict:
    """Case c, unmeasured part: record the steps, then the process dies at the gate."""
    built = run_driver(lib, "c-build", db.url_for(lib), ["--steps", str(sizes.steps_c)], timeout)
    if lib == "edda":
        # The build process died holding the instance lock. Edda takes over an abandoned
        # instance only after its lease (300 s) runs out; release it the way Edda's
        # stale-lock recovery does, so the measured part is the resume itself.
        db.execute(
            "UPDATE workflow_instances SET locked_by = NULL, locked_at = NULL, "
            "lock_expires_at = NULL WHERE instance_id = %s",
            (built["instance_id"],),
        )
    return built


def resume_c(lib: str, db: Database, sizes: Sizes, built: dict, timeout: float) -> dict:
    """Case c, measured part: a fresh worker process resumes the instance."""
    extra = ["--steps", str(sizes.steps_c), "--instance-id", built["instance_id"]]
    resumed = run_driver(lib, "c-resume", db.url_for(lib), extra, timeout)
    return {**resumed, "build_s": built["build_s"], "instance_id": built["instance_id"]}


# ---------------------------------------------------------------------------- report


#: (result key, metric label, case, sub-key, higher is better, format)
def metric_rows(sizes: Sizes, cases: list[str]) -> list[tuple[str, str, str, str, bool, str]]:
    rows: list[tuple[str, str, str, str, bool, str]] = []
    if "a" in cases:
        for c in sizes.concurrency:
            key = f"a_c{c}"
            rows += [
                (key, f"(a) c={c:<2} steps/s", "a", "steps_per_s", True, "{:.0f}"),
                (key, f"(a) c={c:<2} p50 ms", "a", "p50_ms", False, "{:.1f}"),
                (key, f"(a) c={c:<2} p99 ms", "a", "p99_ms", False, "{:.1f}"),
            ]
    if "b" in cases:
        w = sizes.window_b
        rows += [
            ("b", f"(b) first {w} ms/step", "b", "first_ms_per_step", False, "{:.2f}"),
            ("b", f"(b) last {w} ms/step", "b", "last_ms_per_step", False, "{:.2f}"),
            ("b", "(b) last/first", "b", "last_over_first", False, "{:.2f}"),
        ]
    if "c" in cases:
        rows += [
            ("c", f"(c) resume {sizes.steps_c} rows s", "c", "resume_s", False, "{:.3f}"),
            ("c", "(c) worker start s", "c", "worker_start_s", False, "{:.3f}"),
        ]
    return rows


def fmt(value: Any, pattern: str) -> str:
    if value is None:
        return "n/a"
    return pattern.format(value)


def render_table(
    backend: str,
    results: dict[str, dict[str, Outcome]],
    libs: list[str],
    sizes: Sizes,
    cases: list[str],
) -> str:
    peers = [p for p in PEERS if p in libs] if "romancy" in libs else []
    header = ["metric", *libs, *[f"romancy/{p}" for p in peers], "better"]
    lines: list[list[str]] = []
    for key, label, _case, sub, higher, pattern in metric_rows(sizes, cases):
        row = [label]
        values: dict[str, Any] = {}
        for lib in libs:
            outcome = results.get(key, {}).get(lib)
            if outcome is None or outcome.error is not None:
                row.append("n/a")
                values[lib] = None
            else:
                values[lib] = outcome.values.get(sub)
                row.append(fmt(values[lib], pattern))
        for peer in peers:
            r, p = values.get("romancy"), values.get(peer)
            row.append(f"{r / p:.2f}x" if r is not None and p else "n/a")
        row.append("higher" if higher else "lower")
        lines.append(row)
    notes = []
    for key in sorted(results):
        for lib, outcome in results[key].items():
            if outcome.error is not None:
                notes.append(f"- {lib} {key}: n/a - {' '.join(outcome.error.split())}")
            elif outcome.values.get("note"):
                notes.append(f"- {lib} {key}: {' '.join(outcome.values['note'].split())}")
    return markdown_table(f"### {backend}", header, lines, notes)


def markdown_table(title: str, header: list[str], rows: list[list[str]], notes: list[str]) -> str:
    """A titled Markdown table (first column left-aligned, the rest right), then notes."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "| " + " | ".join([first, *rest]) + " |"

    out = [title, "", line(header)]
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out += [line(r) for r in rows]
    if notes:
        out += ["", *notes]
    return "\n".join(out)


def target_checks(all_results: dict[str, dict[str, dict[str, Outcome]]], sizes: Sizes) -> list[str]:
    """The stated targets, checked against this run."""

    def val(backend: str, key: str, lib: str, sub: str) -> float | None:
        o = all_results.get(backend, {}).get(key, {}).get(lib)
        return None if o is None or o.error else o.values.get(sub)

    lines = []
    for backend in all_results:
        for c in sizes.concurrency:
            key = f"a_c{c}"
            r = val(backend, key, "romancy", "steps_per_s")
            for peer, goal in (("edda", 10.0), ("dbos", 4.0)):
                p = val(backend, key, peer, "steps_per_s")
                if r is None or p is None:
                    continue
                ok = r / p >= goal
                lines.append(
                    f"{'PASS' if ok else 'MISS'}  {backend:<10} (a) c={c:<2} romancy/{peer} "
                    f"steps/s = {r / p:.2f}x (target >= {goal:g}x)"
                )
        ratio = val(backend, "b", "romancy", "last_over_first")
        if ratio is not None:
            lines.append(
                f"{'PASS' if ratio <= 1.2 else 'MISS'}  {backend:<10} (b) romancy last/first "
                f"= {ratio:.2f} (target <= 1.2)"
            )
        resume = val(backend, "c", "romancy", "resume_s")
        if resume is not None:
            lines.append(
                f"{'PASS' if resume < 1.0 else 'MISS'}  {backend:<10} (c) romancy resume "
                f"= {resume:.3f} s (target < 1 s)"
            )
    return lines


def measure(
    backend: str,
    key: str,
    lib: str,
    dbcase: str,
    job: Any,
    databases: Databases,
    builds: dict[tuple[str, str], Any],
    sizes: Sizes,
    timeout: float,
) -> Outcome:
    """One case of one library on one backend, on a fresh database; a second attempt
    (fresh database again) when the first fails, and both outcomes are kept."""

    def attempt(current: Attempt) -> dict[str, Any]:
        if key != "c":
            current.db = databases.fresh(backend, lib, dbcase)
            return job(lib, current.db)
        built = builds.pop((backend, lib), None) if current.number == 1 else None
        if isinstance(built, Exception):
            current.failures.append(f"build: {built}")
            built = None
        if built is None:
            current.db = databases.fresh(backend, lib, "c")
            built = (current.db, build_c(lib, current.db, sizes, timeout))
        current.db = built[0]
        return resume_c(lib, current.db, sizes, built[1], timeout)

    return attempt_twice(f"[{backend}] {key:<5} {lib:<8}", databases, attempt)


# ---------------------------------------------------------------------------- session


@dataclass
class Session:
    """One run of a benchmark script: how and when it started, on what, under what name."""

    command: str
    started: dt.datetime
    machine: dict[str, Any]
    name: str  # the UTC start stamp and the script's tag: names its logs and results


def begin(
    args: argparse.Namespace,
    argv: list[str],
    sizes: str,
    *,
    tag: str = "",
    orchestrator: bool = True,
) -> Session:
    """Apply --romancy-src, ready every library's virtualenv, print the run's header and
    open its log directory. ``orchestrator``: note the processor and this Python too."""
    global ROMANCY_SRC, LOG_DIR
    started = dt.datetime.now(dt.UTC)
    command = " ".join(shlex.quote(x) for x in [sys.executable, sys.argv[0], *argv])
    if args.romancy_src is not None:
        ROMANCY_SRC = args.romancy_src.resolve()
        if not (ROMANCY_SRC / "romancy" / "__init__.py").is_file():
            raise SystemExit(f"--romancy-src: no romancy/__init__.py under {ROMANCY_SRC}")
    pythons = {lib: ensure_venv(lib) for lib in args.libs}
    facts = {lib: venv_facts(lib, py) for lib, py in pythons.items()}
    machine: dict[str, Any] = {"cpu_count": os.cpu_count(), "platform": platform.platform()}
    if orchestrator:
        machine["processor"] = platform.processor() or platform.machine()
    machine |= {
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg(),
        "libraries": facts,
        "romancy_revision": romancy_revision(),
        "servers": server_versions(args),
    }
    print(f"# command : {command}")
    print(f"# date    : {started.isoformat(timespec='seconds')}")
    print(f"# machine : {machine['cpu_count']} CPUs, {machine['platform']}")
    if orchestrator:
        print(f"# python  : {machine['python']} (orchestrator)")
    for lib, f in facts.items():
        print(f"# {lib:<8}: {f['version']} on Python {f['python']} ({pythons[lib]})")
    print(f"# revision: {machine['romancy_revision']}")
    print(f"# servers : {machine['servers']}")
    print(f"# load    : {' '.join(f'{x:.2f}' for x in machine['loadavg_start'])} (1/5/15 min)")
    print(f"# sizes   : {sizes}")
    print(flush=True)
    name = started.strftime("%Y%m%dT%H%M%SZ") + tag
    LOG_DIR = RESULTS / "logs" / name
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    return Session(command, started, machine, name)


def report(
    session: Session,
    args: argparse.Namespace,
    tables: list[str],
    checks: list[str],
    settings: dict[str, Any],
    results: dict[str, Any],
) -> None:
    """Print the tables and the target checks; save it all as JSON unless --no-save.
    ``settings`` go into the JSON document after ``quick``."""
    finished = dt.datetime.now(dt.UTC)
    machine = session.machine
    machine["loadavg_end"] = os.getloadavg()
    print(
        f"## Results ({(finished - session.started).total_seconds():.0f} s, "
        f"load at end {' '.join(f'{x:.2f}' for x in machine['loadavg_end'])})"
    )
    print()
    print("\n\n".join(tables))
    if checks:
        print("\n## Targets\n")
        print("\n".join(checks))

    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{session.name}.json"
        document = {
            "command": session.command,
            "started": session.started.isoformat(),
            "finished": finished.isoformat(),
            "quick": args.quick,
            **settings,
            "machine": machine,
            "results": results,
            "targets": checks,
        }
        path.write_text(json.dumps(document, indent=2, default=_jsonable) + "\n")
        print(f"\n# saved {path.relative_to(REPO)}")


def _jsonable(value: Any) -> Any:
    """JSON for what json does not know: an Outcome as its fields, else a list."""
    return value.__dict__ if isinstance(value, Outcome) else list(value)


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    sizes: Sizes = args.sizes
    session = begin(args, argv, str(sizes))
    all_results: dict[str, dict[str, dict[str, Outcome]]] = {b: {} for b in args.backends}
    scratch = Path(tempfile.mkdtemp(prefix="romancy-bench-"))
    databases = Databases(args, scratch)
    timeout = args.timeout
    runnable = [(b, lib) for b in args.backends for lib in args.libs if (lib, b) not in UNSUPPORTED]
    builds: dict[tuple[str, str], tuple[Database, dict[str, Any]] | Exception] = {}
    try:
        if "c" in args.cases:
            # The histories of case c are written first, several at a time: that part is
            # not measured, and building 10,000 steps takes minutes on the slower peers.
            print(
                f"building case c histories ({sizes.steps_c} steps each, "
                f"{args.build_jobs} at a time) ...",
                flush=True,
            )
            began = time.perf_counter()

            def build(item: tuple[str, str]) -> None:
                backend, lib = item
                db = databases.fresh(backend, lib, "c")
                try:
                    builds[item] = (db, build_c(lib, db, sizes, timeout))
                except Exception as error:
                    builds[item] = error
                    databases.drop(db)

            with ThreadPoolExecutor(max_workers=args.build_jobs) as pool:
                list(pool.map(build, runnable))
            for (backend, lib), built in builds.items():
                state = (
                    f"FAILED: {built}"
                    if isinstance(built, Exception)
                    else f"{built[1]['build_s']:.1f} s"
                )
                print(f"  [{backend}] c build {lib:<8} {state}", flush=True)
            print(f"  done in {time.perf_counter() - began:.0f} s\n", flush=True)

        for backend in args.backends:
            results = all_results[backend]
            jobs: list[tuple[str, str, Any]] = []
            if "a" in args.cases:
                for c in sizes.concurrency:
                    run_a = functools.partial(case_a, sizes=sizes, concurrency=c, timeout=timeout)
                    jobs.append((f"a_c{c}", f"a{c}", run_a))
            if "b" in args.cases:
                jobs.append(("b", "b", lambda lib, db: case_b(lib, db, sizes, timeout)))
            if "c" in args.cases:
                jobs.append(("c", "c", None))
            for key, dbcase, job in jobs:
                results[key] = {}
                # Libraries back to back per case, so load from elsewhere hits them alike.
                for lib in args.libs:
                    if (lib, backend) in UNSUPPORTED:
                        results[key][lib] = Outcome(error=UNSUPPORTED[(lib, backend)])
                        continue
                    results[key][lib] = measure(
                        backend, key, lib, dbcase, job, databases, builds, sizes, timeout
                    )
            print()
    finally:
        for item in builds.values():
            if not isinstance(item, Exception):
                databases.drop(item[0])
        shutil.rmtree(scratch, ignore_errors=True)

    tables = [render_table(b, all_results[b], args.libs, sizes, args.cases) for b in all_results]
    checks = target_checks(all_results, sizes)
    settings = {"sizes": sizes.__dict__}
    report(session, args, tables, checks, settings, all_results)
    failed = any(
        o.error and (lib, b) not in UNSUPPORTED
        for b, r in all_results.items()
        for v in r.values()
        for lib, o in v.items()
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
