"""Durations as the public API takes them: seconds (``int`` or ``float``) or a ``timedelta``."""

from __future__ import annotations

from datetime import timedelta
from typing import overload

#: A timeout, a sleep, a skip: seconds or a ``timedelta``.
Duration = float | timedelta


@overload
def seconds(duration: Duration) -> float: ...
@overload
def seconds(duration: None) -> None: ...
def seconds(duration: Duration | None) -> float | None:
    """``duration`` in seconds; ``None`` (no limit) stays ``None``."""
    if duration is None:
        return None
    return duration.total_seconds() if isinstance(duration, timedelta) else float(duration)
