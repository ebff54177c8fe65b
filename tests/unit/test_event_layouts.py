"""A CloudEvent in the stored layouts: the text of its time is what peers read."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from romancy.cloudevent import CloudEvent
from romancy.errors import InvalidValueError
from romancy.wire import messages as wm

PUBLISHED = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)


def go_delivery(data: object, metadata: dict[str, object]) -> dict[str, object]:
    """The ``ChannelMessageReceived`` record written for a waiting Go instance."""
    stored = wm.StoredMessage(5, "m-1", "orders", data, metadata, PUBLISHED)
    record = json.loads(wm.delivery_record(stored, wm.GO))
    assert isinstance(record, dict)
    return record


def test_our_event_time_is_stored_and_relayed_as_isoformat() -> None:
    moment = datetime(2026, 3, 1, 12, 30, 0, 250000, tzinfo=UTC)
    event = CloudEvent(id="e1", type="order.created", source="/shop", time=moment)
    data, metadata = wm.cloudevent_message(event)
    assert metadata["ce_time"] == "2026-03-01T12:30:00.250000+00:00"
    assert go_delivery(data, metadata)["data"]["time"] == "2026-03-01T12:30:00.250000+00:00"
    assert wm.event_of_message(data, metadata) == CloudEvent(
        id="e1", type="order.created", source="/shop", time=moment, data=None
    )


@pytest.mark.parametrize(
    "peer_time",
    ["2026-03-01T12:30:00.123456789Z", "Sun, 01 Mar 2026 12:30:00 GMT", "2026-03-01T12:30:00Z"],
)
def test_a_peers_time_text_is_relayed_unchanged(peer_time: str) -> None:
    metadata = {"ce_type": "order.created", "ce_id": "e2", "ce_source": "/s", "ce_time": peer_time}
    assert go_delivery({"n": 1}, metadata)["data"] == {
        "id": "e2",
        "type": "order.created",
        "source": "/s",
        "specversion": "1.0",
        "time": peer_time,
        "data": {"n": 1},
    }


def test_a_stored_time_reads_as_a_datetime_or_none_when_unreadable() -> None:
    go_envelope = {"id": "e3", "type": "t", "source": "s", "specversion": "1.0"}
    readable = wm.event_of_message({**go_envelope, "time": "2026-02-03T04:05:06+02:00"}, None)
    unreadable = wm.event_of_message({**go_envelope, "time": "yesterday"}, None)
    assert readable is not None and readable.time == datetime(2026, 2, 3, 2, 5, 6, tzinfo=UTC)
    assert unreadable is not None and unreadable.time is None


def test_attributes_too_large_to_store_are_refused() -> None:
    event = CloudEvent(id="e4", type="t", source="s", extensions={"big": "x" * 70_000})
    with pytest.raises(InvalidValueError, match=r"event's attributes as stored is \d+ bytes"):
        wm.cloudevent_message(event)
