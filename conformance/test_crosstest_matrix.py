"""The crosstest matrix on every backend: romancy-py against Edda, and Go where it builds.

Every case folder with a ``case.py`` runs for each ordered pair of runtimes that includes
romancy-py. A cell must pass or be a divergence listed in ``known_divergences.toml``; a
listed divergence that passes fails the run too, so the list stays true. The databases
the runtimes wrote are then checked against the migrations and the JSON Schemas. The
report (``schema/json/crosstest-matrix.json``) is written to ``ROMANCY_CROSSTEST_REPORTS``
(default: ``reports/`` in the repository), one file per backend.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crosstest.matrix import (
    NOT_RUN,
    Matrix,
    discover_cases,
    failed,
    load_divergences,
    report,
    table,
)
from crosstest.runtimes import REPO, available
from romancy.validation import validate
from tests.support.fixtures import Backend

REPORTS = Path(os.environ.get("ROMANCY_CROSSTEST_REPORTS", REPO / "reports"))
#: Cells run at once: each starts two to five interpreters, on a two-core machine.
PARALLEL = 3


@pytest.mark.slow
async def test_every_cell_passes_or_is_a_listed_divergence(
    backend: Backend, make_database: Callable[[str], str], tmp_path: Path
) -> None:
    url = None if backend.name == "sqlite" else make_database("matrix")
    runtimes = available(["romancy-py", "edda", "go"])
    missing = {r.name: r.unavailable for r in runtimes if r.name != "go" and r.unavailable}
    assert not missing, f"the matrix needs romancy-py and Edda: {missing}"
    matrix = Matrix(
        {backend.name: url}, runtimes, discover_cases(), load_divergences(), PARALLEL, tmp_path
    )
    results = await matrix.run()

    document = report(results, runtimes, {backend.name: url}, matrix.checks)
    assert validate("crosstest-matrix", document) == []
    _write(REPORTS / f"crosstest-matrix-{backend.name}.json", document)
    summary = table(results, runtimes, matrix.checks)
    print(summary)
    # romancy-py and Edda always run; only the Go column may be "not run", with its reason.
    skipped = [r for r in results if r.status == NOT_RUN and "go" not in (r.sender, r.receiver)]
    assert not skipped, summary
    assert all(r.detail for r in results if r.status == NOT_RUN), summary
    assert not failed(results, strict=True, checks=matrix.checks), summary
    assert len(matrix.checks) == (
        len({(r.case, r.sender, r.receiver) for r in results if r.status != NOT_RUN})
        if url is None
        else 1
    )


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
