"""The timer NOTIFY payload: what we send reads back, and a peer's odd one is no error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from romancy.wire.notify import timer_expiry, timer_payload


def test_a_timer_payload_reads_back_its_moment_in_utc() -> None:
    moment = datetime(2026, 3, 1, 12, 30, 5, 250000, tzinfo=timezone(timedelta(hours=2)))
    assert timer_expiry(timer_payload("wf-1", "sleep:1", moment)) == moment.astimezone(UTC)
    # Go's RFC 3339 with a Z, and a naive time (taken as UTC).
    assert timer_expiry('{"expires_at":"2026-03-01T10:30:05Z"}') == datetime(
        2026, 3, 1, 10, 30, 5, tzinfo=UTC
    )
    assert timer_expiry('{"expires_at":"2026-03-01T10:30:05"}') == datetime(
        2026, 3, 1, 10, 30, 5, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "payload",
    ["", "not json", "[1]", '"text"', "null", "{}", '{"expires_at": 5}', '{"expires_at": "soon"}'],
)
def test_an_unreadable_timer_payload_has_no_moment(payload: str) -> None:
    assert timer_expiry(payload) is None
