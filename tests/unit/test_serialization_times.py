"""Stored times: whole seconds, rounded up so a deadline never comes due early."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from romancy.serialization import ceil_second

_TOKYO = timezone(timedelta(hours=9))


def test_a_deadline_is_rounded_up_to_a_whole_utc_second() -> None:
    exact = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert ceil_second(exact) == exact
    assert ceil_second(exact + timedelta(microseconds=1)) == exact + timedelta(seconds=1)
    tokyo = datetime(2025, 1, 2, 12, 4, 5, 500_000, tzinfo=_TOKYO)
    assert ceil_second(tokyo) == exact + timedelta(seconds=1)
    assert ceil_second(tokyo).tzinfo is UTC
    assert ceil_second(exact.replace(tzinfo=None)) == exact  # naive is UTC already
