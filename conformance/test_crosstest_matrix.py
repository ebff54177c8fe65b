"""The crosstest matrix on every backend: every ordered pair of romancy-py, Edda and Go.

Every case folder with a ``case.py`` runs for each ordered pair of runtimes (each with
itself too). A cell must pass or be a divergence listed in ``known_divergences.toml`` with
its symptom; a listed divergence that passes fails the run too, so the list stays true.
The databases the runtimes wrote are then checked against the migrations and the JSON
Schemas. The reports (JSON per ``schema/json/crosstest-matrix.json``, JUnit XML, Markdown)
are written to ``ROMANCY_CROSSTEST_REPORTS`` (default: ``reports/`` in the repository),
one set per backend.

A cell that fails runs once more (on a fresh set of programs): the cells
start up to a dozen interpreters on a two-core machine that the rest of the suite loads
too, and one missed deadline there is not a verdict. A cell that fails twice fails; one
that passes the second time passes with its first failure in its detail, in every report.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from crosstest import reports
from crosstest.divergences import load_divergences
from crosstest.matrix import Matrix, discover_cases
from crosstest.results import NOT_RUN
from crosstest.runtimes import EDDA_NO_CLI, available
from crosstest.venvs import SUITE
from romancy.validation import validate
from tests.support.fixtures import Backend

REPORTS = Path(os.environ.get("ROMANCY_CROSSTEST_REPORTS", SUITE / "reports"))
#: Cells run at once: each starts two to five interpreters, on a two-core machine.
PARALLEL = 3


@pytest.mark.slow
@pytest.mark.backends(
    "postgresql",
    "mysql",
    reason="SQLite runs through the installed `romancy conformance run` "
    "(tests/acceptance/test_installed_suite.py), with the same verdict",
)
async def test_every_cell_passes_or_is_a_listed_divergence(
    backend: Backend, make_database: Callable[[str], str], tmp_path: Path
) -> None:
    url = make_database("matrix")
    runtimes = available(["romancy-py", "edda", "go"])
    missing = {r.name: r.unavailable for r in runtimes if r.name != "go" and r.unavailable}
    assert not missing, f"the matrix needs romancy-py and Edda: {missing}"
    matrix = Matrix(
        {backend.name: url},
        runtimes,
        discover_cases(),
        load_divergences(),
        PARALLEL,
        tmp_path,
        retry_failed=True,
    )
    results = await matrix.run()

    unavailable = {r.name: r.unavailable for r in runtimes}
    document = reports.document(results, unavailable, {backend.name: backend.name}, matrix.checks)
    assert validate("crosstest-matrix", document) == []
    _write(
        REPORTS / f"crosstest-matrix-{backend.name}",
        json=json.dumps(document, indent=2) + "\n",
        xml=reports.junit(results, matrix.checks, strict=True),
        md=reports.markdown(results, matrix.checks),
    )
    summary = reports.table(results, matrix.checks)
    print(summary)
    # romancy-py and Edda always run; only the Go column may be "not run", with its reason,
    # and the cells that read through Edda's instance CLI, which Edda does not have.
    skipped = [
        r
        for r in results
        if r.status == NOT_RUN and "go" not in (r.sender, r.receiver) and r.detail != EDDA_NO_CLI
    ]
    assert not skipped, summary
    assert all(r.detail for r in results if r.status == NOT_RUN), summary
    assert not reports.failed(results, strict=True, checks=matrix.checks), summary
    assert len(matrix.checks) == 1, summary  # the one shared server database


def _write(stem: Path, **texts: str) -> None:
    """One file per report, named by its extension."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    for suffix, text in texts.items():
        stem.with_suffix(f".{suffix}").write_text(text, encoding="utf-8")
