"""The history export: what ``romancy get --json`` prints is what
``RecordedHistory.to_json()`` writes, and what ``histories_from_json`` reads back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from romancy.storage import Storage
from romancy.testing import RecordedHistory, histories_from_json, load_histories
from tests.acceptance.cli_runner import romancy as romancy_cli
from tests.integration.storage.helpers import new_instance


async def _exported(storage: Storage, *payloads: str | bytes) -> tuple[RecordedHistory, Any]:
    """An instance with one history row per payload: its history as ``load_histories``
    reads it, and the ``history`` ``romancy get --json`` prints."""
    await storage.instances.create_instance(
        new_instance(instance_id="export-1", workflow_name="exported")
    )
    for number, payload in enumerate(payloads, 1):
        await storage.history.append_history(
            "export-1", f"a:{number}", "ActivityCompleted", payload
        )
    [recorded] = await load_histories(storage.url.original, "exported")
    printed = romancy_cli("get", "export-1", "--db", storage.url.original, "--json")
    assert printed.returncode == 0, printed.stderr
    return recorded, json.loads(printed.stdout)["history"]


async def test_to_json_writes_what_romancy_get_json_prints(storage: Storage) -> None:
    recorded, printed = await _exported(storage, '{"result":"é"}', b"\x00\xff")
    exported = recorded.to_json()["history"]
    assert exported == printed
    assert [event["data"] for event in exported] == [{"result": "é"}, "AP8="]
    assert all(event["created_at"].endswith("Z") for event in exported)
    [back] = histories_from_json(json.loads(json.dumps(recorded.to_json())))
    assert back.to_json() == recorded.to_json()


async def test_a_payload_that_is_not_json_is_exported_as_its_text(storage: Storage) -> None:
    # Another runtime's payload that is not JSON: shown as its text, not a crash.
    recorded, printed = await _exported(storage, "plain text")
    assert recorded.to_json()["history"] == printed
    assert printed[0]["data"] == "plain text"


def test_export_times_without_an_offset_are_utc() -> None:
    export = {
        "instance_id": "i-1",
        "workflow_name": "w",
        "input": None,
        "history": [
            {
                "activity_id": "a:1",
                "event_type": "ActivityCompleted",
                "data": 1,
                "created_at": "2025-01-02T03:04:05",
            },
            {
                "activity_id": "a:2",
                "event_type": "ActivityCompleted",
                "data": 2,
                "created_at": "2025-01-02T05:04:05+02:00",
            },
        ],
    }
    first, second = histories_from_json(export)[0].records
    assert first.created_at == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert first.created_at.tzinfo is not None
    assert second.created_at == first.created_at
    assert second.created_at.utcoffset() == first.created_at.utcoffset()
