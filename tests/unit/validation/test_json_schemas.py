"""Every JSON Schema in schema/json/ accepts what the real writers produce and rejects a
broken example with a readable error."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from romancy.cloudevent import CloudEvent
from romancy.config import AppConfig
from romancy.outbox.relayer import OutboxRelayer
from romancy.storage import OutboxRecord, Storage
from romancy.validation import load_schema, schema_names, validate, violations
from romancy.validation.json_schemas import SCHEMA_BASE, schemas_dir
from romancy.wire import history as wh
from romancy.wire import messages as wm
from romancy.wire.notify import (
    channel_message_payload,
    outbox_payload,
    resumable_payload,
    timer_payload,
)

PUBLISHED = datetime(2026, 3, 1, 12, 30, 5, 250000, tzinfo=UTC)
EVENT = CloudEvent(
    id="evt-1",
    type="order.created",
    source="/shop",
    time=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
    datacontenttype="application/json",
    subject="o-1",
    extensions={"romancyinstanceid": "wf-1", "priority": 3},
    data={"order_id": "o-1", "amount": 9.99},
)


def message(data: Any, metadata: dict[str, Any] | None = None) -> wm.StoredMessage:
    return wm.StoredMessage(17, "6f1c7d2e-uuid", "orders", data, metadata, PUBLISHED)


def stored(data: Any, metadata: dict[str, Any] | None) -> dict[str, Any]:
    """A channel_messages row as the writer stores it, parsed back ({"data", "metadata"})."""
    data_type, text, binary, meta = wm.message_columns(data, metadata)
    assert data_type == "json" and text is not None and binary is None
    return {"data": json.loads(text), "metadata": json.loads(meta) if meta else None}


def loads(text: str | bytes) -> Any:
    assert isinstance(text, str)
    return json.loads(text)


def event(event_type: str, data: Any) -> dict[str, Any]:
    return {"event_type": event_type, "activity_id": "x:1", "event_data": data}


# ------------------------------------------------------------------- the schema files


def test_every_schema_is_valid_draft_2020_12_with_id_title_and_description() -> None:
    names = schema_names()
    assert len(names) >= 20
    for name in names:
        schema = load_schema(name)
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"{SCHEMA_BASE}{name}.json"
        assert schema["title"] and len(schema["description"]) > 40, name


def test_loader_caches_accepts_the_file_name_and_names_unknown_schemas() -> None:
    assert load_schema("cloudevent") is load_schema("cloudevent.json")
    assert schemas_dir() == Path(__file__).resolve().parents[3] / "schema" / "json"
    with pytest.raises(ValueError, match=r"no JSON Schema named 'nope'; known schemas: .*"):
        load_schema("nope")


# ------------------------------------------------------------------- channel messages


def test_channel_message_rows_as_written() -> None:
    assert validate("channel-message", stored({"order_id": "o-1"}, {"k": "v"})) == []
    assert validate("channel-message", stored({"order_id": "o-1"}, None)) == []
    # A CloudEvent in Edda's layout: the payload may be any JSON value.
    data, metadata = wm.cloudevent_message(EVENT)
    assert validate("channel-message", stored(data, metadata)) == []
    text_event = CloudEvent(id="e2", type="ping", source="/s", data="just text")
    assert validate("channel-message", stored(*wm.cloudevent_message(text_event))) == []
    # Go's layout: the whole envelope as data, no metadata.
    assert validate("channel-message", stored(wm.go_envelope(EVENT), None)) == []
    assert validate("channel-message", stored([1, 2], None)) == [
        "$.data: expected object, found array [1,2]"
    ]


def test_channel_message_data() -> None:
    assert validate("channel-message-data", stored({"n": 1}, None)["data"]) == []
    assert validate("channel-message-data", wm.go_envelope(EVENT)) == []
    broken = {**wm.go_envelope(EVENT), "source": 7}
    assert validate("channel-message-data", broken) == [
        "$.source: expected string, found integer 7"
    ]
    assert validate("channel-message-data", "text") == ['$: expected object, found string "text"']


def test_channel_message_metadata() -> None:
    _, metadata = wm.cloudevent_message(EVENT)
    edda = {
        "ce_type": "order.created",
        "ce_source": "/shop",
        "ce_id": "e-9",
        "ce_time": "2026-03-01T12:30:00.123456+00:00",
        "ce_datacontenttype": None,
        "ce_subject": None,
        "ce_extensions": {"eddainstanceid": "wf-2"},
        "published_at": "2026-03-01T12:30:01.000001+00:00",
    }
    for value in (metadata, edda, None, {"source_instance_id": "wf-3", "anything": [1]}):
        assert validate("channel-message-metadata", value) == []
    assert validate("channel-message-metadata", {"ce_type": "t", "ce_id": "1"}) == [
        "$.ce_source: required property missing (needed because 'ce_type' is present)"
    ]
    assert validate("channel-message-metadata", [1]) == [
        "$: expected object or null, found array [1]"
    ]


def test_go_event_envelope_and_binary_payload() -> None:
    assert validate("go-event-envelope", wm.go_envelope(EVENT)) == []
    minimal = CloudEvent(id="1", type="t", source="s")
    assert validate("go-event-envelope", wm.go_envelope(minimal)) == []
    assert validate("go-event-envelope", {"id": "1", "type": "t", "specversion": "1.0"}) == [
        "$.source: required property missing"
    ]
    binary = loads(wm.delivery_record(message(b"\x00\xffbytes"), "romancy-py"))["data"]
    assert validate("binary-payload", binary) == []
    assert validate("binary-payload", {"_binary": True, "data": "not base64!"}) == [
        '$.data: expected text matching ^[A-Za-z0-9+/]*={0,2}$, found string "not base64!"'
    ]


# ------------------------------------------------------------ ChannelMessageReceived


def test_channel_message_received_in_each_writers_layout() -> None:
    ours = loads(wm.delivery_record(message({"n": 1}, {"k": "v"}), "romancy-py"))
    for_edda = loads(wm.delivery_record(message({"n": 1}), wm.EDDA))
    binary = loads(wm.delivery_record(message(b"\x01\x02"), "romancy-py"))
    go = loads(wm.delivery_record(message({"n": 1}, {"k": "v"}), wm.GO))
    data, metadata = wm.cloudevent_message(EVENT)
    go_event = loads(wm.delivery_record(message(data, metadata), wm.GO))
    assert go_event["data"]["type"] == "order.created"  # rebuilt envelope for Go
    edda = {  # as Edda 0.16 writes it (docs/compat.md)
        "id": "7b8c1f9e-uuid",
        "channel": "orders",
        "data": {"n": 1},
        "metadata": {"published_at": "2026-11-25T01:28:35+00:00"},
        "published_at": "2026-11-25T01:28:35",
    }
    go_zero = {"id": 3, "channel_name": "c", "created_at": "0001-01-01T00:00:00Z", "data": None}

    for name, value in [
        ("channel-message-received-romancy-py", ours),
        ("channel-message-received-romancy-py", for_edda),
        ("channel-message-received-romancy-py", binary),
        ("channel-message-received-edda", edda),
        ("channel-message-received-edda", for_edda),  # Edda reads ours as its own
        ("channel-message-received-go", go),
        ("channel-message-received-go", go_event),
        ("channel-message-received-go", go_zero),
    ]:
        assert validate(name, value) == [], (name, value)
        assert validate("channel-message-received", value) == [], value
        assert validate("history-event", event("ChannelMessageReceived", value)) == []

    assert validate("channel-message-received-romancy-py", {**ours, "sequence": "17"}) == [
        '$.sequence: expected integer, found string "17"'
    ]
    assert validate("channel-message-received-go", {**go, "id": "17"}) == [
        '$.id: expected integer, found string "17"'
    ]
    del edda["channel"]
    assert validate("channel-message-received-edda", edda) == [
        "$.channel: required property missing"
    ]
    # The combined schema reports the layout the record comes closest to.
    no_channel = {k: v for k, v in ours.items() if k != "channel"}
    assert validate("channel-message-received", no_channel) == [
        "$.channel: required property missing"
    ]


# ---------------------------------------------------------------------- history


class Boom(RuntimeError):
    pass


def row(written: wh.Row) -> tuple[str, str]:
    return written.event_type, written.data


def our_history_records() -> list[tuple[str, str, Any]]:
    """(schema, event type, event_data) for every record our writers produce."""
    timeout = wm.timeout_record("orders", PUBLISHED)
    return [
        ("history-activity-completed", "ActivityCompleted", wh.activity_completed("a", {"x": 1})),
        ("history-activity-completed", "ActivityCompleted", wh.activity_completed("a", None)),
        (
            "history-activity-failed",
            "ActivityFailed",
            wh.activity_failed("a", Boom("no"), terminal=True, attempts=3),
        ),
        ("history-timer-expired", *row(wh.timer_expired("sleep:1", PUBLISHED))),
        (
            "history-compensation-executed",
            *row(wh.compensation_outcome(4, "reserve:1", "reserve", None)),
        ),
        (
            "history-compensation-failed",
            *row(wh.compensation_outcome(4, "reserve:1", "reserve", Boom("undo failed"))),
        ),
        ("history-workflow-failed", *row(wh.workflow_failed(Boom("x"), "Traceback…"))),
        ("history-workflow-cancelled", *row(wh.workflow_cancelled(""))),
        ("history-message-timeout", "MessageTimeout", timeout),
        ("history-message-timeout", "MessageTimeout", wm.timeout_record("orders", None)),
    ]


@pytest.mark.parametrize(
    ("name", "event_type", "text"), our_history_records(), ids=lambda v: str(v)[:30]
)
def test_our_history_records(name: str, event_type: str, text: str) -> None:
    data = json.loads(text)
    assert validate(name, data) == []
    assert validate("history-event", event(event_type, data)) == []


@pytest.mark.parametrize(
    ("name", "broken", "error"),
    [
        ("history-activity-completed", {"result": 1}, "$.activity_name: required property missing"),
        (
            "history-activity-failed",
            {
                "activity_name": "a",
                "error_type": "E",
                "error_message": "m",
                "terminal": "yes",
                "attempts": 1,
            },
            '$.terminal: expected boolean, found string "yes"',
        ),
        (
            "history-timer-expired",
            {"timer_id": "sleep:1", "expires_at": "tomorrow", "result": None},
            "$.expires_at: expected text matching",
        ),
        (
            "history-compensation-executed",
            {"compensation_id": 1, "activity_id": "a:1", "activity_name": "a", "extra": 1},
            "$.extra: unexpected property",
        ),
        (
            "history-compensation-failed",
            {"compensation_id": 1, "activity_id": "a:1", "activity_name": "a"},
            "$.error_message: required property missing",
        ),
        ("history-workflow-failed", {"error": "x"}, "$.error_type: required property missing"),
        ("history-workflow-cancelled", {"reason": None}, "$.reason: expected string, found null"),
        (
            "history-message-timeout",
            {**json.loads(wm.timeout_record("c", None)), "error_type": "ValueError"},
            '$.error_type: expected "TimeoutError", found string "ValueError"',
        ),
    ],
)
def test_broken_history_records(name: str, broken: Any, error: str) -> None:
    assert any(line.startswith(error) for line in validate(name, broken)), validate(name, broken)


def test_history_event_accepts_the_peers_layouts() -> None:
    peers = [  # docs/compat.md, `event_data` by `event_type`
        ("ActivityCompleted", 42),  # Go: the raw result
        ("ActivityCompleted", {"timer_id": "sleep:1", "expires_at": "x", "completed": True}),
        ("ActivityCompleted", {"activity_name": "a", "result": 1, "input": {"args": []}}),
        ("ActivityFailed", "boom"),  # Go: a JSON string
        (
            "ActivityFailed",
            {
                "activity_name": "a",
                "error_type": "ValueError",
                "error_message": "m",
                "stack_trace": "…",
                "input": {},
                "retry_metadata": {"total_attempts": 3},
            },
        ),
        (
            "TimerExpired",
            {"result": None, "timer_id": "t", "expires_at": "2026-11-25T01:28:51.278907"},
        ),
        ("MessageTimeout", 'timeout waiting for channel message on "c" (instance: i)'),
        (
            "CompensationExecuted",
            {"activity_name": "a", "compensation_id": 3, "args": [], "kwargs": {}},
        ),
        (
            "CompensationFailed",
            {"activity_name": "a", "compensation_id": 3, "error_type": "E", "error_message": "m"},
        ),
        (
            "CompensationFailed",
            {
                "compensation_id": 3,
                "activity_id": "a:1",
                "activity_name": "a",
                "error": "executor not found",
            },
        ),
        ("WorkflowFailed", {"error": "boom"}),
        ("EventReceived", {"payload": {}, "metadata": {"type": "t"}, "extensions": {}}),
    ]
    for event_type, data in peers:
        assert validate("history-event", event(event_type, data)) == [], (event_type, data)


def test_history_event_rejects_unknown_types_and_wrong_layouts() -> None:
    assert validate("history-event", event("activity_completed", {})) == [
        '$.event_type: expected one of "ActivityCompleted", "ActivityFailed", "TimerExpired", '
        '"ChannelMessageReceived", "MessageTimeout", "EventReceived", "CompensationExecuted", '
        '"CompensationFailed", "WorkflowFailed", "WorkflowCancelled", found string '
        '"activity_completed"'
    ]
    assert validate("history-event", event("WorkflowCancelled", "why")) == [
        '$.event_data: expected object, found string "why"'
    ]
    assert validate("history-event", event("ActivityFailed", {"activity_name": "a"})) == [
        # closest layout: Edda's (ours would also need terminal and attempts)
        "$.event_data.error_message: required property missing",
        "$.event_data.error_type: required property missing",
    ]
    found = violations("history-event", event("ChannelMessageReceived", {"id": "x"}))
    assert found and all(v.path[0] == "event_data" for v in found)


# --------------------------------------------------------------------- CloudEvents


async def test_cloudevent_structured_mode_as_the_relayer_sends_it() -> None:
    async with httpx.AsyncClient() as client:
        relayer = OutboxRelayer(
            Storage.__new__(Storage), AppConfig(outbox_structured=True), client=client
        )
        for data_type, data, binary in [
            ("json", '{"order_id":"o-1"}', None),
            ("binary", None, b"\x00\x01"),
        ]:
            record = OutboxRecord(
                "e-1",
                "order.created",
                "/shop",
                data_type,
                data,
                binary,
                "application/json",
                PUBLISHED,
                0,
            )
            headers, body = relayer._request(record)
            assert headers["content-type"] == "application/cloudevents+json"
            assert validate("cloudevent", json.loads(body)) == []


def test_cloudevent_envelopes() -> None:
    cli = {  # as `romancy event` posts it
        "specversion": "1.0",
        "type": "payment.done",
        "source": "romancy-cli",
        "id": "cli-1",
        "time": "2026-03-01T12:30:00.5+00:00",
        "datacontenttype": "application/json",
        "data": {"ok": True},
        "romancyinstanceid": "wf-1",
    }
    assert validate("cloudevent", cli) == []
    assert validate("cloudevent", {**cli, "specversion": "0.3"}) == [
        '$.specversion: expected "1.0", found string "0.3"'
    ]
    assert validate("cloudevent", {k: v for k, v in cli.items() if k != "id"}) == [
        "$.id: required property missing"
    ]
    assert validate("cloudevent", {**cli, "data_base64": "AA=="}) == [
        "$: expected data or data_base64, not both, found data and data_base64 present"
    ]
    assert validate("cloudevent", {**cli, "TraceParent": "x"}) == [
        "$.TraceParent: expected an attribute name of lowercase letters and digits, "
        'found property name "TraceParent"'
    ]


# -------------------------------------------------------------------------- NOTIFY


def test_notify_payloads_as_sent_and_as_the_peers_send_them() -> None:
    cases = [
        ("notify-workflow-resumable", resumable_payload("wf-1", "orders"), True),
        ("notify-workflow-resumable", '{"wf_id":"a","wf_name":"b"}', True),
        ("notify-workflow-resumable", '{"instance_id":"a","workflow_name":"b"}', True),
        ("notify-workflow-resumable", '{"wf_id":"a"}', False),
        (
            "notify-workflow-timer-expired",
            timer_payload("wf-1", "sleep:1", datetime(2026, 1, 1, tzinfo=UTC)),
            True,
        ),
        ("notify-workflow-timer-expired", '{"instance_id":"a","timer_id":"t"}', False),
        ("notify-workflow-channel-message", channel_message_payload("orders", "m-1"), True),
        ("notify-workflow-channel-message", '{"ch":"c","msg_id":"m"}', True),
        ("notify-workflow-channel-message", '{"channel":"c","message_id":7}', True),
        ("notify-workflow-channel-message", '{"channel":"c"}', False),
        ("notify-workflow-outbox-pending", outbox_payload("e-1", "order.created"), True),
        ("notify-workflow-outbox-pending", '{"evt_id":"e","evt_type":"t"}', True),
        ("notify-workflow-outbox-pending", '{"event_id":"e"}', True),
        ("notify-workflow-outbox-pending", '{"evt_type":"t"}', False),
    ]
    for name, payload, ok in cases:
        assert (validate(name, json.loads(payload)) == []) is ok, (name, payload)
    assert validate("notify-workflow-outbox-pending", {"evt_type": "t"}) == [
        "$.evt_id: required property missing"
    ]


# ----------------------------------------------------------------------- crosstest


def test_crosstest_output() -> None:
    good = [
        {"received": True, "message": {"text": "hi", "timestamp": "…"}, "metadata": {}},
        {"received": False, "error": "timeout"},
        {"published": True},
        {"published": False, "error": "boom"},
        {"sent": True},
        {"sent": False, "error": "no such instance"},
    ]
    for value in good:
        assert validate("crosstest-output", value) == [], value
    assert validate("crosstest-output", {"sent": "yes"}) == [
        '$.sent: expected boolean, found string "yes"'
    ]
    assert validate("crosstest-output", {"received": True, "message": "hi"}) == [
        '$.message: expected object, found string "hi"'
    ]
