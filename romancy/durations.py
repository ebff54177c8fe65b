"""Durations as the public API takes them: seconds (``int`` or ``float``) or a ``timedelta``."""

from __future__ import annotations

import os
import random
from datetime import timedelta
from typing import overload

from romancy.errors import InvalidValueError

#: A timeout, a sleep, a skip: seconds or a ``timedelta``.
Duration = float | timedelta

# Jitter draws from a generator of its own: the application's ``random`` state stays its
# own (a seeded program or test draws the same numbers while romancy's loops run).
_JITTER = random.Random()
# A forked worker draws its own numbers (the module's generator is reseeded so too).
os.register_at_fork(after_in_child=_JITTER.seed)


@overload
def seconds(duration: Duration) -> float: ...
@overload
def seconds(duration: None) -> None: ...
def seconds(duration: Duration | None) -> float | None:
    """``duration`` in seconds; ``None`` (no limit) stays ``None``."""
    if duration is None:
        return None
    if isinstance(duration, timedelta):
        return duration.total_seconds()
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        raise InvalidValueError(
            f"a duration is a number of seconds or a timedelta, not {duration!r}"
        )
    return float(duration)


def jittered(seconds: float, low: float, high: float) -> float:
    """``seconds`` times a random factor between ``low`` and ``high`` (spreads out retries
    and polls of many workers)."""
    return seconds * _JITTER.uniform(low, high)
