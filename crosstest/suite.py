"""``romancy conformance``: run the conformance matrix against any runtimes, or list it.

    romancy conformance run --db sqlite:///x.db --db postgresql://… \\
        --runtime romancy-py --runtime edda=/path/to/edda-venv/bin/python \\
        --runtime go=/path/to/crosstest [--cases a,b] \\
        [--junit FILE] [--json FILE] [--markdown FILE] [--strict]
    romancy conformance list

A runtime is ``NAME`` (``romancy-py``, ``edda``, ``go``) or ``NAME=COMMAND``, where COMMAND
is any program that takes the crosstest flags (see :func:`.runtimes.from_spec`). Exit
status: 0 when every cell passed, is a listed divergence or did not run (with its reason);
1 when a cell failed, a database check found rows off-shape or (``--strict``) a listed
divergence passed; 2 for a mistake on the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from romancy.storage import parse_database_url

from . import reports
from .divergences import load_divergences
from .matrix import Matrix, discover_cases
from .results import CellResult
from .runtimes import Runtime, from_spec

USAGE = 2


class _Usage(ValueError):
    """A mistake on the command line."""


def build_parser(prog: str = "romancy conformance") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the conformance matrix against any runtimes, or list its cases and "
        "the known divergences. Exit 0: every cell passed, is a listed divergence or did not "
        "run (with its reason); 1: a cell failed, rows were off-shape, or (--strict) a listed "
        "divergence passed; 2: a mistake on the command line.",
        epilog="Example: romancy conformance run --db sqlite:///x.db --runtime romancy-py "
        "--runtime edda=/path/to/edda-venv/bin/python --junit report.xml. See "
        "docs/conformance.md.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = commands.add_parser(
        "run", help="run every case for every ordered pair of runtimes on every database"
    )
    run.add_argument(
        "--db",
        action="append",
        default=[],
        metavar="URL",
        help="a database to run on (repeatable; one per dialect). SQLite cells each get a "
        "file of their own in <file>.cells/ beside the file named",
    )
    run.add_argument(
        "--runtime",
        action="append",
        default=[],
        metavar="NAME[=COMMAND]",
        help="a runtime under test (repeatable; default romancy-py): romancy-py, edda[=PYTHON], "
        "go[=BINARY], or NAME=COMMAND for any program with the crosstest flags",
    )
    run.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    run.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    run.add_argument("--json", type=Path, metavar="FILE", help="write the JSON report")
    run.add_argument(
        "--markdown",
        type=Path,
        metavar="FILE",
        help='write a Markdown matrix (e.g. "$GITHUB_STEP_SUMMARY")',
    )
    run.add_argument(
        "--strict", action="store_true", help="a listed divergence that passes fails the run"
    )
    run.add_argument("--parallel", type=int, default=3, help="cells run at once (default 3)")
    run.add_argument("--keep", type=Path, metavar="DIR", help="keep the programs' logs here")
    listed = commands.add_parser("list", help="list the cases and the known divergences")
    listed.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "romancy conformance") -> int:
    args = build_parser(prog).parse_args(argv)
    if args.command == "list":
        print(json.dumps(catalogue(), indent=2) if args.json else listing())
        return 0
    try:
        backends = databases(args.db)
        runtimes = _runtimes(args.runtime or ["romancy-py"])
        cases = select_cases(args.cases)
        if args.parallel < 1:
            raise _Usage("--parallel must be at least 1")
    except (_Usage, ValueError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return USAGE
    with tempfile.TemporaryDirectory(prefix="conformance-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        matrix = Matrix(backends, runtimes, cases, load_divergences(), args.parallel, work)
        if sys.stderr.isatty():
            matrix.on_cell = _progress
        results = asyncio.run(matrix.run())
    print(reports.table(results, matrix.checks))
    write_reports(args, results, matrix, runtimes)
    return 1 if reports.failed(results, args.strict, matrix.checks) else 0


def databases(urls: Sequence[str]) -> dict[str, str]:
    """Each ``--db`` URL under its dialect's name; at least one, one per dialect."""
    if not urls:
        raise _Usage("give at least one --db URL (sqlite:///file.db, postgresql://…, mysql://…)")
    found: dict[str, str] = {}
    for url in urls:
        dialect = parse_database_url(url).dialect
        if dialect in found:
            raise _Usage(f"--db {dialect} given twice; give one database per dialect")
        found[dialect] = url
    return found


def _runtimes(specs: Sequence[str]) -> list[Runtime]:
    runtimes = [from_spec(spec) for spec in specs]
    names = [r.name for r in runtimes]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise _Usage(f"--runtime {', '.join(twice)} given twice")
    return runtimes


def select_cases(wanted: str) -> dict[str, ModuleType]:
    """The cases named (comma-separated), or all."""
    cases = discover_cases()
    names = [c.strip() for c in wanted.split(",") if c.strip()]
    unknown = sorted(set(names) - set(cases))
    if unknown:
        raise _Usage(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(cases)}")
    return {name: cases[name] for name in names} if names else cases


def write_reports(
    args: argparse.Namespace, results: list[CellResult], matrix: Matrix, runtimes: list[Runtime]
) -> None:
    """The reports asked for with ``--json``, ``--junit`` and ``--markdown``."""
    if args.json:
        dialects = {name: parse_database_url(url).dialect for name, url in matrix.backends.items()}
        unavailable = {r.name: r.unavailable for r in runtimes}
        body = reports.document(results, unavailable, dialects, matrix.checks)
        _write(args.json, json.dumps(body, indent=2) + "\n")
    if args.junit:
        _write(args.junit, reports.junit(results, matrix.checks, strict=args.strict))
    if args.markdown:
        _write(args.markdown, reports.markdown(results, matrix.checks))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def catalogue() -> dict[str, list[dict[str, object]]]:
    """The cases and the known divergences, as ``list --json`` prints them."""
    cases = [
        {
            "name": name,
            "title": module.TITLE,
            "sender_modes": list(module.SENDER_MODES),
            "receiver_modes": list(module.RECEIVER_MODES),
        }
        for name, module in discover_cases().items()
    ]
    divergences = [
        {
            "id": d.id,
            "case": d.case,
            "runtimes": list(d.runtimes),
            "backends": list(d.backends),
            "intermittent": d.intermittent,
            "between": d.between,
            "symptom": d.symptom,
            "explained": d.explained,
            "summary": inspect.cleandoc(d.summary),
        }
        for d in load_divergences()
    ]
    return {"cases": cases, "divergences": divergences}


def listing() -> str:
    """The cases (title, modes each side needs) and the known divergences."""
    lines = ["Cases:"]
    for name, module in discover_cases().items():
        lines += [f"  {name}: {module.TITLE}"]
        lines += [
            f"      sender: {', '.join(module.SENDER_MODES)}; "
            f"receiver: {', '.join(module.RECEIVER_MODES)}"
        ]
    lines += ["", "Known divergences:"]
    for d in load_divergences():
        where = f"{d.case}; {'/'.join(d.runtimes)}; {', '.join(d.backends)}"
        flaky = "; intermittent" if d.intermittent else ""
        lines += [f"  {d.id} ({where}{flaky})"]
        lines += [f"      {line}" for line in inspect.cleandoc(d.summary).splitlines()]
    return "\n".join(lines)


def _progress(matrix: Matrix, result: CellResult) -> None:
    line = (
        f"[{matrix.done}/{matrix.total}] {result.status}: {result.case} {result.backend} "
        f"{result.pair}"
    )
    end = "\n" if matrix.done == matrix.total else ""
    print(f"\r\033[K{line[:110]}", end=end, file=sys.stderr, flush=True)
