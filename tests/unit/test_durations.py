"""Durations and jitter: seconds from either form; jitter that leaves ``random`` alone."""

from __future__ import annotations

import multiprocessing
import random
from datetime import timedelta
from typing import Any

import pytest

from romancy import InvalidValueError, RetryPolicy
from romancy.durations import jittered, seconds


def test_seconds_of_either_form() -> None:
    assert seconds(timedelta(minutes=1, milliseconds=500)) == 60.5
    assert seconds(3) == 3.0 and isinstance(seconds(3), float)
    assert seconds(None) is None


@pytest.mark.parametrize("wrong", ["5", True, [1]])
def test_a_duration_of_another_type_is_refused_by_name(wrong: object) -> None:
    with pytest.raises(InvalidValueError, match="seconds or a timedelta"):
        seconds(wrong)  # type: ignore[call-overload]


def test_jitter_stays_in_its_range() -> None:
    draws = [jittered(10.0, 0.75, 1.25) for _ in range(500)]
    assert all(7.5 <= d <= 12.5 for d in draws)
    assert len(set(draws)) > 1
    policy = RetryPolicy(initial_interval=1.0, randomization_factor=0.5)
    delays = [policy.delay(1) for _ in range(200)]
    assert all(0.5 <= d <= 1.5 for d in delays)


def test_jitter_leaves_the_applications_random_state_alone() -> None:
    # A program that seeds ``random`` draws the same numbers while retries and polls run.
    random.seed(1234)
    expected = [random.random() for _ in range(3)]
    random.seed(1234)
    jittered(1.0, 0.5, 1.5)
    RetryPolicy().delay(2)
    assert [random.random() for _ in range(3)] == expected


def test_forked_workers_draw_their_own_jitter() -> None:
    # Workers forked from one parent (multiprocessing, gunicorn --preload) must not retry
    # and poll in step.
    context = multiprocessing.get_context("fork")
    draws = context.Queue()
    children = [context.Process(target=_draw, args=(draws,)) for _ in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=30)
    assert draws.get(timeout=5) != draws.get(timeout=5)


def _draw(draws: Any) -> None:
    draws.put(jittered(1.0, 0.0, 1.0))
