"""Known peer defects (``conformance/known_divergences.toml``) and how a cell is judged.

A listed divergence names the case, the runtimes and backends it applies to, and the
symptom it shows (a regular expression searched in the failing cell's detail). A covered
cell that fails with that symptom is a "known divergence"; one that fails otherwise is a
plain failure (a new defect must not hide behind an old entry); one that passes is
reported as "divergence passes", so the list is kept true, unless the entry is marked
intermittent (a race that shows in some runs only).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .results import FAIL, FIXED, KNOWN
from .venvs import SUITE

DIVERGENCES = SUITE / "conformance" / "known_divergences.toml"
ALL_BACKENDS = ("sqlite", "postgresql", "mysql")


@dataclass(frozen=True)
class Divergence:
    """A peer defect a cell is known to show."""

    id: str
    case: str
    runtimes: tuple[str, ...]  # applies when any of them is the sender or the receiver
    backends: tuple[str, ...]
    #: The section of our docs explaining the defect, as ``docs/<file>.md#<anchor>``.
    explained: str
    summary: str
    #: Shows only in some runs (a race): a covered cell that passes is then a plain pass.
    intermittent: bool = False
    #: A regular expression the failing cell's detail must match ("" matches any failure).
    symptom: str = ""
    #: Applies only when both the sender and the receiver are among ``runtimes`` (a defect
    #: between a peer's own processes), not when either is.
    between: bool = False

    def covers(self, case: str, backend: str, sender: str, receiver: str) -> bool:
        sides = {sender, receiver} & set(self.runtimes)
        wanted = sides == {sender, receiver} if self.between else bool(sides)
        return self.case == case and backend in self.backends and wanted

    def shows_in(self, detail: str) -> bool:
        """Whether a failure's detail is this defect's symptom."""
        return re.search(self.symptom, detail, re.DOTALL) is not None


def load_divergences(path: Path = DIVERGENCES) -> list[Divergence]:
    """The known peer defects, each linking the docs section that explains it."""
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("divergence", [])
    return [
        Divergence(
            id=e["id"],
            case=e["case"],
            runtimes=tuple(e["runtimes"]),
            backends=tuple(e.get("backends", ALL_BACKENDS)),
            explained=e["explained"],
            summary=e["summary"],
            intermittent=bool(e.get("intermittent", False)),
            symptom=e.get("symptom", ""),
            between=bool(e.get("between", False)),
        )
        for e in entries
    ]


def covering(
    divergences: list[Divergence], case: str, backend: str, sender: str, receiver: str
) -> list[Divergence]:
    """The listed divergences that apply to one cell."""
    return [d for d in divergences if d.covers(case, backend, sender, receiver)]


def classify(
    outcome: str, detail: str, known: Divergence | list[Divergence] | None
) -> tuple[str, str, str | None]:
    """A cell's status, detail and divergence id, given its outcome and the listed
    divergences covering it."""
    listed = [known] if isinstance(known, Divergence) else list(known or [])
    if not listed:
        return outcome, detail, None
    if outcome == FAIL:
        shown = next((d for d in listed if d.shows_in(detail)), None)
        if shown is None:
            names = ", ".join(d.id for d in listed)
            return FAIL, f"{detail} (not the symptom of listed {names})", None
        return KNOWN, detail, shown.id
    steady = [d for d in listed if not d.intermittent]
    if not steady:
        return outcome, detail, None
    return FIXED, f"listed divergence {steady[0].id} did not show: {detail}", steady[0].id
