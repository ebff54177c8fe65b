"""The conformance matrix: cases x backends x runtime pairs, each cell run for real.

    python -m crosstest.matrix --backend sqlite --backend postgresql=postgresql://… \\
        --runtimes romancy-py,edda,go --json matrix.json

A cell is one case (``conformance/<case>/case.py``) on one backend with a sender runtime
and a receiver runtime. Pairs are every ordered pair that includes romancy-py (romancy-py
with itself too): the matrix proves our runtime against each peer, not the peers against
each other. A cell ends ``pass``, ``fail`` (with the reason), ``known divergence`` (a peer
defect listed in ``conformance/known_divergences.toml``), ``divergence passes`` (a listed
defect that did not show: reported so the list stays true) or ``not run`` (with the
reason). After the cells, every database they wrote is checked with ``romancy schema
validate``'s checker: its schema against our migrations, every row each runtime wrote
against the JSON Schemas of ``schema/json/`` (a SQLite cell's file at the end of that
cell, a server database once all its cells are done). Exit status: 1 when any cell
failed, a database check found a difference (or, with ``--strict``, a listed divergence
passed), else 0.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
import tempfile
import time
import tomllib
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from crosstest.cell import Cell
from crosstest.process import CellFailure
from crosstest.runtimes import REPO, Runtime, available
from romancy.storage import Storage, parse_database_url
from romancy.validation.database import check_database

CONFORMANCE = REPO / "conformance"
DIVERGENCES = CONFORMANCE / "known_divergences.toml"
ORIGIN = "romancy-py"

PASS, FAIL, KNOWN, FIXED, NOT_RUN = (
    "pass",
    "fail",
    "known divergence",
    "divergence passes",
    "not run",
)


@dataclass(frozen=True)
class Divergence:
    """A peer defect a cell is known to show (``known_divergences.toml``)."""

    id: str
    case: str
    runtimes: tuple[str, ...]  # applies when any of them is the sender or the receiver
    backends: tuple[str, ...]
    #: The section of our docs explaining the defect, as ``docs/<file>.md#<anchor>``.
    explained: str
    summary: str
    #: Shows only in some runs (a race): a covered cell that passes is then a plain pass.
    intermittent: bool = False

    def covers(self, case: str, backend: str, sender: str, receiver: str) -> bool:
        return (
            self.case == case
            and backend in self.backends
            and bool({sender, receiver} & set(self.runtimes))
        )


@dataclass
class CellResult:
    case: str
    backend: str
    sender: str
    receiver: str
    status: str
    detail: str
    divergence: str | None = None
    seconds: float = 0.0


@dataclass
class DatabaseCheck:
    """The rows the runtimes wrote to one database, checked against the shared shapes."""

    backend: str
    database: str
    clean: bool
    summary: str
    differences: list[str]


def load_divergences(path: Path = DIVERGENCES) -> list[Divergence]:
    """The known peer defects, each linking the docs section that explains it."""
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("divergence", [])
    return [
        Divergence(
            id=e["id"],
            case=e["case"],
            runtimes=tuple(e["runtimes"]),
            backends=tuple(e.get("backends", ("sqlite", "postgresql", "mysql"))),
            explained=e["explained"],
            summary=e["summary"],
            intermittent=bool(e.get("intermittent", False)),
        )
        for e in entries
    ]


def discover_cases() -> dict[str, ModuleType]:
    """Every ``conformance/<case>/case.py``, by folder name."""
    found = sorted(p.parent.name for p in CONFORMANCE.glob("*/case.py"))
    return {name: importlib.import_module(f"conformance.{name}.case") for name in found}


def runtime_pairs(runtimes: list[Runtime]) -> list[tuple[Runtime, Runtime]]:
    """Ordered (sender, receiver) pairs that include romancy-py."""
    return [
        (sender, receiver)
        for sender in runtimes
        for receiver in runtimes
        if ORIGIN in (sender.name, receiver.name)
    ]


class Matrix:
    """Runs every cell and collects the results."""

    def __init__(
        self,
        backends: dict[str, str | None],
        runtimes: list[Runtime],
        cases: dict[str, ModuleType],
        divergences: list[Divergence],
        parallel: int,
        workdir: Path,
    ) -> None:
        self.backends = backends
        self.runtimes = runtimes
        self.cases = cases
        self.divergences = divergences
        self.workdir = workdir
        self._slots = asyncio.Semaphore(parallel)
        self._storages: dict[str, Storage] = {}
        self.checks: list[DatabaseCheck] = []

    async def run(self) -> list[CellResult]:
        try:
            for backend, url in self.backends.items():
                if url is not None:
                    self._storages[backend] = await _migrated(url)
            cells = [
                self._cell(case, backend, sender, receiver)
                for case in self.cases
                for backend in self.backends
                for sender, receiver in runtime_pairs(self.runtimes)
            ]
            results = list(await asyncio.gather(*cells))
            for backend, storage in self._storages.items():
                await self._check(backend, storage)
            return results
        finally:
            for storage in self._storages.values():
                await storage.close()

    async def _cell(
        self, case: str, backend: str, sender: Runtime, receiver: Runtime
    ) -> CellResult:
        result = CellResult(case, backend, sender.name, receiver.name, NOT_RUN, "")
        module = self.cases[case]
        reason = sender.lacks(*module.SENDER_MODES) or receiver.lacks(*module.RECEIVER_MODES)
        if reason:
            result.detail = reason
            return result
        async with self._slots:
            began = time.monotonic()
            outcome, detail = await self._attempt(module, case, backend, sender, receiver)
            result.seconds = round(time.monotonic() - began, 1)
        known = next(
            (d for d in self.divergences if d.covers(case, backend, sender.name, receiver.name)),
            None,
        )
        result.status, result.detail, result.divergence = classify(outcome, detail, known)
        _progress(result)
        return result

    async def _attempt(
        self, module: ModuleType, case: str, backend: str, sender: Runtime, receiver: Runtime
    ) -> tuple[str, str]:
        tag = uuid.uuid4().hex[:8]
        try:
            url, storage, own = await self._database(backend, tag)
        except Exception as error:
            return FAIL, f"database not available: {error}"
        logs = self.workdir / "logs"
        logs.mkdir(exist_ok=True)
        cell = Cell(case, backend, sender, receiver, url, tag, storage, logs)
        try:
            return PASS, str(await module.run(cell) or "")
        except CellFailure as failure:
            return FAIL, str(failure)
        except Exception as error:  # a broken case is a failure of the cell, with its cause
            return FAIL, f"{type(error).__name__}: {error}"
        finally:
            await cell.close()
            if own:
                await self._check(backend, storage)
                await storage.close()

    async def _check(self, backend: str, storage: Storage) -> None:
        try:
            found = await check_database(storage)
        except Exception as error:  # the check itself failing is a finding too
            check = DatabaseCheck(backend, storage.url.redacted, False, str(error), [str(error)])
        else:
            check = DatabaseCheck(
                backend, found.database, found.clean, found.summary(), found.lines()[:-1]
            )
        self.checks.append(check)
        if not check.clean:
            print(f"[rows off-shape] {check.summary}", file=sys.stderr, flush=True)

    async def _database(self, backend: str, tag: str) -> tuple[str, Storage, bool]:
        """The cell's database: a fresh SQLite file, or the backend's shared database."""
        url = self.backends[backend]
        if url is None:
            path = self.workdir / f"cell-{tag}.db"
            storage = await _migrated(f"sqlite:///{path}")
            return f"sqlite:///{path}", storage, True
        return url, self._storages[backend], False


def classify(outcome: str, detail: str, known: Divergence | None) -> tuple[str, str, str | None]:
    """A cell's status, detail and divergence id, given its outcome and the listed
    divergence covering it (if any)."""
    if known is None:
        return outcome, detail, None
    if outcome == FAIL:
        return KNOWN, detail, known.id
    if known.intermittent:
        return outcome, detail, None
    return FIXED, f"listed divergence {known.id} did not show: {detail}", known.id


async def _migrated(url: str) -> Storage:
    storage = await Storage.open(url, pool_size=4)
    await storage.migrate()
    return storage


def _progress(result: CellResult) -> None:
    print(
        f"[{result.status}] {result.case} {result.backend} "
        f"{result.sender}->{result.receiver} ({result.seconds:g} s)",
        file=sys.stderr,
        flush=True,
    )


# ------------------------------------------------------------------------------ report


def table(
    results: list[CellResult], runtimes: list[Runtime], checks: Sequence[DatabaseCheck] = ()
) -> str:
    """Rows: case and backend; columns: sender→receiver pairs; then the database checks."""
    pairs = [f"{s.name}->{r.name}" for s, r in runtime_pairs(runtimes)]
    short = {PASS: "pass", FAIL: "FAIL", KNOWN: "known", FIXED: "FIXED?", NOT_RUN: "-"}
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for r in results:
        rows.setdefault((r.case, r.backend), {})[f"{r.sender}->{r.receiver}"] = short[r.status]
    head = ["case", "backend", *pairs]
    body = [
        [case, backend, *(cells.get(p, "") for p in pairs)]
        for (case, backend), cells in rows.items()
    ]
    widths = [max(len(str(row[i])) for row in [head, *body]) for i in range(len(head))]
    lines = [
        "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True))
        for row in [head, *body]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [
        f"- {r.status}: {r.case} {r.backend} {r.sender}->{r.receiver}: {r.detail}"
        for r in results
        if r.status in (FAIL, FIXED, KNOWN)
    ]
    skipped = sorted({r.detail for r in results if r.status == NOT_RUN})
    if notes:
        lines += ["", *notes]
    if skipped:
        lines += ["", "not run:", *(f"- {reason}" for reason in skipped)]
    if checks:
        clean = [c for c in checks if c.clean]
        lines += ["", f"rows written: {len(clean)} of {len(checks)} databases clean"]
        for check in checks:
            if not check.clean:
                lines += [f"- {check.backend}: {check.summary}"]
                lines += [f"    {d}" for d in check.differences[:20]]
    return "\n".join(lines)


def report(
    results: list[CellResult],
    runtimes: list[Runtime],
    backends: dict[str, str | None],
    checks: Sequence[DatabaseCheck] = (),
) -> dict[str, Any]:
    """The JSON document the ``--json`` file holds (``schema/json/crosstest-matrix.json``)."""
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return {
        "generated_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "runtimes": {
            r.name: {"available": r.unavailable is None, "reason": r.unavailable} for r in runtimes
        },
        "backends": {
            name: parse_database_url(url).dialect if url else "sqlite"
            for name, url in backends.items()
        },
        "summary": counts,
        "cells": [asdict(r) for r in results],
        "databases": [asdict(c) for c in checks],
    }


def failed(results: list[CellResult], strict: bool, checks: Sequence[DatabaseCheck] = ()) -> bool:
    """Whether the run fails: a failed cell, rows off-shape, or (strict) a divergence passing."""
    return any(not c.clean for c in checks) or any(
        r.status == FAIL or (strict and r.status == FIXED) for r in results
    )


# --------------------------------------------------------------------------------- CLI


def parse_backends(values: Sequence[str]) -> dict[str, str | None]:
    """``sqlite`` (a fresh file per cell) and ``name=URL`` for the server backends."""
    backends: dict[str, str | None] = {}
    for value in values or ["sqlite"]:
        name, _, url = value.partition("=")
        if name == "sqlite" and not url:
            backends["sqlite"] = None
            continue
        if not url:
            raise ValueError(f"--backend {value!r}: give postgresql=URL or mysql=URL")
        dialect = parse_database_url(url).dialect
        if dialect == "sqlite":
            raise ValueError(
                f"--backend {value!r}: SQLite cells use a fresh file each; pass 'sqlite'"
            )
        backends[name] = url
    return backends


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crosstest.matrix", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--backend", action="append", default=[], help="sqlite, or name=URL (repeatable)"
    )
    parser.add_argument("--runtimes", default="romancy-py,edda,go", help="comma-separated")
    parser.add_argument("--cases", default="", help="comma-separated case folders (default: all)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--parallel", type=int, default=4, help="cells run at once")
    parser.add_argument(
        "--keep", type=Path, help="keep the SQLite cell databases and the programs' logs here"
    )
    parser.add_argument(
        "--strict", action="store_true", help="a listed divergence that passes fails the run"
    )
    args = parser.parse_args(argv)
    try:
        backends = parse_backends(args.backend)
        runtimes = available([n.strip() for n in args.runtimes.split(",") if n.strip()])
        cases = discover_cases()
        wanted = [c.strip() for c in args.cases.split(",") if c.strip()]
        unknown = sorted(set(wanted) - set(cases))
        if unknown:
            raise ValueError(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(cases)}")
        if wanted:
            cases = {name: cases[name] for name in wanted}
    except ValueError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="crosstest-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        matrix = Matrix(backends, runtimes, cases, load_divergences(), args.parallel, work)
        results = asyncio.run(matrix.run())
    print(table(results, runtimes, matrix.checks))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        document = report(results, runtimes, backends, matrix.checks)
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 1 if failed(results, args.strict, matrix.checks) else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
