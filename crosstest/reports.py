"""The matrix's reports: a terminal table, JSON, JUnit XML and a Markdown summary.

* JSON follows ``schema/json/crosstest-matrix.json``.
* JUnit XML: one ``testsuite`` per backend, one ``testcase`` per cell (``<case>
  <sender>-><receiver>``) and per database check. A failed cell is a ``failure``; a known
  divergence and a cell not run are ``skipped`` with the divergence or the reason (the way
  CI systems show an expected failure); with ``strict``, a listed divergence that passed
  is a failure.
* Markdown: per backend, cases down and runtime pairs across, then the details of every
  cell that was not a plain pass; written for GitHub's job summary.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from romancy.serialization import format_time

from .results import FAIL, FIXED, KNOWN, NOT_RUN, PASS, STATUSES, CellResult, DatabaseCheck

_SHORT = {PASS: "pass", FAIL: "FAIL", KNOWN: "known", FIXED: "FIXED?", NOT_RUN: "-"}
_MARK = {
    PASS: "✅ pass",
    FAIL: "❌ fail",
    KNOWN: "⚠️ known",
    FIXED: "❓ passes",
    NOT_RUN: "— not run",
}


def _grid(
    results: Sequence[CellResult],
) -> tuple[list[str], dict[tuple[str, str], dict[str, CellResult]]]:
    """The runtime pairs in first-seen order, and each (case, backend) row's cells by pair."""
    pairs = list(dict.fromkeys(r.pair for r in results))
    rows: dict[tuple[str, str], dict[str, CellResult]] = {}
    for r in results:
        rows.setdefault((r.case, r.backend), {})[r.pair] = r
    return pairs, rows


def _notes(results: Sequence[CellResult]) -> list[CellResult]:
    return [r for r in results if r.status in (FAIL, FIXED, KNOWN)]


def table(results: Sequence[CellResult], checks: Sequence[DatabaseCheck] = ()) -> str:
    """Plain text for a terminal: the grid, then what failed, was known or did not run."""
    pairs, rows = _grid(results)
    head = ["case", "backend", *pairs]
    body = [
        [case, backend, *(_SHORT[cells[p].status] if p in cells else "" for p in pairs)]
        for (case, backend), cells in rows.items()
    ]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in [head, *body]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"- {r.status}: {r.case} {r.backend} {r.pair}: {r.detail}" for r in _notes(results)]
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


def summary(results: Sequence[CellResult]) -> dict[str, int]:
    """How many cells ended with each status."""
    counts = {status: 0 for status in STATUSES}
    for r in results:
        counts[r.status] += 1
    return {status: n for status, n in counts.items() if n}


def document(
    results: Sequence[CellResult],
    runtimes: Mapping[str, str | None],
    backends: Mapping[str, str],
    checks: Sequence[DatabaseCheck] = (),
) -> dict[str, Any]:
    """The JSON report: ``runtimes`` maps each name to why it could not run (or None),
    ``backends`` each backend name to its dialect."""
    return {
        "generated_at": format_time(datetime.now(UTC)),
        "runtimes": {
            name: {"available": reason is None, "reason": reason}
            for name, reason in runtimes.items()
        },
        "backends": backends,
        "summary": summary(results),
        "cells": [asdict(r) for r in results],
        "databases": [asdict(c) for c in checks],
    }


def junit(
    results: Sequence[CellResult], checks: Sequence[DatabaseCheck] = (), *, strict: bool = False
) -> str:
    """JUnit XML, one suite per backend."""
    suites = ET.Element("testsuites", name="romancy conformance")
    backends = list(dict.fromkeys([*(r.backend for r in results), *(c.backend for c in checks)]))
    for backend in backends:
        suite = ET.SubElement(suites, "testsuite", name=f"conformance {backend}")
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        for r in (r for r in results if r.backend == backend):
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"conformance.{r.case}",
                name=f"{r.case} {r.pair}",
                time=f"{r.seconds:g}",
            )
            counts["tests"] += 1
            if r.status == FAIL or (strict and r.status == FIXED):
                ET.SubElement(case, "failure", message=r.detail[:500]).text = r.detail
                counts["failures"] += 1
            elif r.status in (KNOWN, NOT_RUN):
                why = (
                    f"known divergence {r.divergence}: {r.detail}"
                    if r.status == KNOWN
                    else r.detail
                )
                ET.SubElement(case, "skipped", message=why[:500])
                counts["skipped"] += 1
            else:
                ET.SubElement(case, "system-out").text = r.detail
        for check in (c for c in checks if c.backend == backend):
            case = ET.SubElement(
                suite,
                "testcase",
                classname="conformance.schema_validate",
                name=f"rows written to {check.database}",
            )
            counts["tests"] += 1
            if not check.clean:
                text = "\n".join([check.summary, *check.differences])
                ET.SubElement(case, "failure", message=check.summary[:500]).text = text
                counts["failures"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def markdown(results: Sequence[CellResult], checks: Sequence[DatabaseCheck] = ()) -> str:
    """A Markdown matrix per backend, then the details (GitHub's job summary reads it)."""
    pairs, rows = _grid(results)
    counts = ", ".join(f"{n} {status}" for status, n in summary(results).items())
    lines = ["# Conformance matrix", "", f"{len(results)} cells: {counts}.", ""]
    for backend in dict.fromkeys(r.backend for r in results):
        lines += [f"## {backend}", "", "| case | " + " | ".join(f"`{p}`" for p in pairs) + " |"]
        lines += ["|---" * (len(pairs) + 1) + "|"]
        for (case, row_backend), cells in rows.items():
            if row_backend == backend:
                marks = [_mark(cells[p]) if p in cells else "" for p in pairs]
                lines += [f"| {case} | " + " | ".join(marks) + " |"]
        lines += [""]
    noted = _notes(results)
    if noted:
        lines += ["## Details", ""]
        lines += [
            f"- **{r.status}** {r.case} · {r.backend} · `{r.pair}`: {_one_line(r.detail)}"
            for r in noted
        ]
        lines += [""]
    reasons = sorted({r.detail for r in results if r.status == NOT_RUN})
    if reasons:
        lines += ["## Not run", "", *(f"- {_one_line(reason)}" for reason in reasons), ""]
    if checks:
        clean = sum(c.clean for c in checks)
        lines += ["## Rows written", "", f"{clean} of {len(checks)} databases clean.", ""]
        lines += [f"- {c.backend}: {_one_line(c.summary)}" for c in checks if not c.clean]
    return "\n".join(lines).rstrip() + "\n"


def _mark(result: CellResult) -> str:
    mark = _MARK[result.status]
    return f"{mark} ({result.divergence})" if result.divergence else mark


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")[:400]


def failed(
    results: Sequence[CellResult], strict: bool, checks: Sequence[DatabaseCheck] = ()
) -> bool:
    """Whether the run fails: a failed cell, rows off-shape, or (strict) a divergence passing."""
    return any(not c.clean for c in checks) or any(
        r.status == FAIL or (strict and r.status == FIXED) for r in results
    )
