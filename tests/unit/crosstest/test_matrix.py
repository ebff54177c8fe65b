"""How the matrix judges a cell against the listed divergences."""

from __future__ import annotations

import re
from pathlib import Path

from crosstest.divergences import Divergence, classify, load_divergences
from crosstest.results import FAIL, FIXED, KNOWN, PASS


def _divergence(intermittent: bool, symptom: str = "") -> Divergence:
    return Divergence(
        "peer-bug",
        "channel_competing",
        ("edda",),
        ("sqlite",),
        "docs/compat.md",
        "x",
        intermittent,
        symptom,
    )


def test_a_listed_defect_that_shows_is_known_and_one_that_does_not_is_reported() -> None:
    steady = _divergence(intermittent=False)
    assert classify(FAIL, "lost job 2", steady) == (KNOWN, "lost job 2", "peer-bug")
    status, detail, divergence = classify(PASS, "4 jobs", steady)
    assert (status, divergence) == (FIXED, "peer-bug")
    assert "did not show" in detail


def test_an_intermittent_defect_that_does_not_show_is_a_plain_pass() -> None:
    flaky = _divergence(intermittent=True)
    assert classify(PASS, "4 jobs", flaky) == (PASS, "4 jobs", None)
    assert classify(FAIL, "job 3 twice", flaky) == (KNOWN, "job 3 twice", "peer-bug")
    assert classify(FAIL, "broken", None) == (FAIL, "broken", None)


def test_a_failure_other_than_the_listed_symptom_stays_a_failure() -> None:
    listed = _divergence(intermittent=False, symptom=r"job \d+ (twice|received 2 times)")
    assert classify(FAIL, "job 3 received 2 times", listed) == (
        KNOWN,
        "job 3 received 2 times",
        "peer-bug",
    )
    status, detail, divergence = classify(FAIL, "subscriber crashed: KeyError", listed)
    assert (status, divergence) == (FAIL, None)
    assert "not the symptom of listed peer-bug" in detail


def test_the_first_listed_divergence_whose_symptom_shows_names_the_cell() -> None:
    other = Divergence(
        "other", "channel_competing", ("go",), ("sqlite",), "d", "x", symptom="^lost"
    )
    listed = [other, _divergence(intermittent=False, symptom="twice")]
    assert classify(FAIL, "job 1 twice", listed) == (KNOWN, "job 1 twice", "peer-bug")


def test_every_listed_symptom_is_a_valid_regular_expression() -> None:
    for d in load_divergences():
        re.compile(d.symptom)


def _anchors(doc: Path) -> set[str]:
    """The heading anchors a Markdown viewer gives ``doc`` (GitHub's rule)."""
    headings = re.findall(r"^#+ (.+)$", doc.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_every_listed_divergence_links_the_section_explaining_it() -> None:
    listed = load_divergences()
    root = Path(__file__).resolve().parents[3]
    for d in listed:
        path, _, anchor = d.explained.partition("#")
        assert d.summary and anchor in _anchors(root / path), f"{d.id}: {d.explained}"
    assert listed and len({d.id for d in listed}) == len(listed)


def test_an_entry_between_a_peers_own_processes_covers_only_that_pair() -> None:
    between = Divergence(
        "edda-only", "recur_and_channels", ("edda",), ("sqlite",), "d", "x", between=True
    )
    assert between.covers("recur_and_channels", "sqlite", "edda", "edda")
    assert not between.covers("recur_and_channels", "sqlite", "edda", "romancy-py")
    assert not between.covers("recur_and_channels", "sqlite", "romancy-py", "edda")
