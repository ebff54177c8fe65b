"""How the matrix judges a cell against the listed divergences."""

from __future__ import annotations

import re
from pathlib import Path

from crosstest.matrix import FAIL, FIXED, KNOWN, PASS, Divergence, classify, load_divergences


def _divergence(intermittent: bool) -> Divergence:
    return Divergence(
        "peer-bug", "channel_competing", ("edda",), ("sqlite",), "docs/compat.md", "x", intermittent
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
