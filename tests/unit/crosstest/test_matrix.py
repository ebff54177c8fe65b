"""How the matrix judges a cell against the listed divergences."""

from __future__ import annotations

from crosstest.matrix import FAIL, FIXED, KNOWN, PASS, Divergence, classify, load_divergences


def _divergence(intermittent: bool) -> Divergence:
    return Divergence(
        "peer-bug", "channel_competing", ("edda",), ("sqlite",), "§5.3", "x", intermittent
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


def test_every_listed_divergence_names_its_contract_section() -> None:
    listed = load_divergences()
    assert listed and all(d.contract.startswith("§") and d.summary for d in listed)
    assert len({d.id for d in listed}) == len(listed)
