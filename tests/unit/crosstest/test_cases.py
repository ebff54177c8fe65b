"""Every matrix case declares what the runner reads, and the job tally counts as cases rely.

A mode no runtime knows would leave every cell of its case "not run", which reads like a
missing peer rather than a typo in the case; the shared mode pairs of ``conformance/_case``
must keep each case's modes real.
"""

from __future__ import annotations

import inspect
from collections import Counter

from crosstest.cell import Jobs
from crosstest.matrix import discover_cases
from crosstest.runtimes import ALL_MODES, CLI


def test_every_case_declares_a_title_known_modes_and_a_run_coroutine() -> None:
    cases = discover_cases()
    assert "channel_competing" in cases and "event_targeted" in cases
    for name, module in cases.items():
        assert isinstance(module.TITLE, str) and module.TITLE, name
        for modes in (module.SENDER_MODES, module.RECEIVER_MODES):
            assert isinstance(modes, tuple) and modes, name
            assert set(modes) <= ALL_MODES | {CLI}, f"{name}: {modes}"
        assert inspect.iscoroutinefunction(module.run), name


def test_a_case_keeps_the_modes_it_declared() -> None:
    cases = discover_cases()
    assert cases["channel_metadata"].SENDER_MODES == ("publisher",)
    assert cases["channel_metadata"].RECEIVER_MODES == ("subscriber",)
    assert cases["channel_competing"].RECEIVER_MODES == ("publisher", "subscriber")
    assert cases["event_http_delivery"].RECEIVER_MODES == ("event-waiter",)


def test_jobs_received_twice_and_jobs_nobody_received_are_named() -> None:
    jobs = Jobs(received=Counter({0: 1, 1: 2, 3: 1}), missed=["sender consumer 2: timeout"])
    assert jobs.twice() == [1]
    assert jobs.lost(5) == [2, 4]
    assert Jobs(received=Counter({0: 1, 1: 1})).lost(2) == []
