"""History rows a peer writes into *our* instances, read and tolerated.

Go Romancy, after delivering one message twice, writes a second ``ChannelMessageReceived``
row into the receiving instance under its own key ``channel:<name>:<int>`` with a zero
``created_at``, whichever runtime owns the instance. romancy-py must go on: replay the
instance and resume it, show it in ``romancy get``/``list``, and count it as a valid row in
``romancy schema validate`` (docs/compat.md, "Go's stray delivery rows").
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import text

import romancy
from romancy import App, WorkflowContext
from romancy.storage import Storage
from romancy.wire import history as wh
from tests.integration.engine.helpers import eventually, history, wait_for_status

#: Go's zero ``time.Time`` as each backend stores it when Go writes it. MariaDB's TIMESTAMP
#: cannot hold year 1: Go's MySQL driver sends a zero time as 0000-00-00, which the
#: server's default sql_mode (no NO_ZERO_DATE) accepts.
GO_ZERO_TIME = {
    "sqlite": "0001-01-01 00:00:00+00:00",
    "postgresql": "0001-01-01 00:00:00+00",
    "mysql": "0000-00-00 00:00:00",
}


@romancy.activity
async def ph_note(ctx: WorkflowContext, first: str, second: str) -> str:
    return f"{first}+{second}"


@romancy.workflow
async def ph_two_receives(ctx: WorkflowContext, channel: str) -> dict[str, Any]:
    await romancy.subscribe(ctx, channel)
    first = await romancy.receive(ctx, channel)
    second = await romancy.receive(ctx, channel)
    noted = await ph_note(ctx, first.data["n"], second.data["n"])
    return {"first": first.data, "second": second.data, "noted": noted}


def romancy_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "romancy", *args], capture_output=True, text=True, timeout=180
    )


async def _write_go_duplicate(storage: Storage, instance_id: str, channel: str) -> str:
    """Write Go's second delivery row of the first message, as Go's SQL would."""
    received = [
        r
        for r in await storage.history.load_history(instance_id)
        if r.event_type == "ChannelMessageReceived"
    ]
    sequence = json.loads(received[0].event_data or "{}")["sequence"]
    activity_id = f"channel:{channel}:{sequence}"
    record = {
        "id": sequence,
        "channel_name": channel,
        "created_at": "0001-01-01T00:00:00Z",
        "data": {"n": "one"},
    }
    async with storage.transaction() as tx:
        await tx.connection.execute(
            text(
                "INSERT INTO workflow_history (instance_id, activity_id, event_type, data_type,"
                " event_data, created_at) VALUES (:instance_id, :activity_id,"
                " 'ChannelMessageReceived', 'json', :event_data, :created_at)"
            ),
            {
                "instance_id": instance_id,
                "activity_id": activity_id,
                "event_data": json.dumps(record),
                "created_at": GO_ZERO_TIME[storage.url.dialect],
            },
        )
    return activity_id


async def test_a_go_duplicate_delivery_row_is_tolerated(app: App) -> None:
    channel = "ph-dup"
    instance_id = await app.start_workflow(ph_two_receives, channel)
    await wait_for_status(app, instance_id, "waiting_for_message")
    await romancy.publish(app, channel, {"n": "one"})

    async def second_wait() -> bool:
        return any(
            r.event_type == "ChannelMessageReceived" for r in await history(app, instance_id)
        )

    await eventually(second_wait, what="the first message recorded")
    await wait_for_status(app, instance_id, "waiting_for_message")
    stray = await _write_go_duplicate(app.storage, instance_id, channel)

    # Replay reads past the stray row and the workflow runs new steps after it.
    await romancy.publish(app, channel, {"n": "two"})
    result = await app.wait_for_result(instance_id, timeout=30)
    assert result == {"first": {"n": "one"}, "second": {"n": "two"}, "noted": "one+two"}
    rows = {r.activity_id: r for r in await history(app, instance_id)}
    assert rows[stray].event_type == wh.CHANNEL_MESSAGE_RECEIVED  # kept, not rewritten

    url = app.storage.url.original
    shown = romancy_cli("get", "--db", url, "--json", instance_id)
    assert shown.returncode == 0, shown.stderr
    got = json.loads(shown.stdout)
    assert got["status"] == "completed"
    assert stray in [row["activity_id"] for row in got["history"]]
    listed = romancy_cli("list", "--db", url, "--json")
    assert listed.returncode == 0, listed.stderr
    assert instance_id in [i["instance_id"] for i in json.loads(listed.stdout)["instances"]]
    validated = romancy_cli("schema", "validate", "--db", url)
    assert validated.returncode == 0, validated.stdout + validated.stderr


@romancy.workflow
async def ph_go_keyed_receive(ctx: WorkflowContext, channel: str) -> None:
    await romancy.subscribe(ctx, channel)
    await romancy.receive(ctx, channel, activity_id=f"channel:{channel}:1")


async def test_a_step_cannot_take_gos_delivery_key(app: App) -> None:
    # Replay passes over rows at Go's key, so a step recorded there would never replay.
    instance_id = await app.start_workflow(ph_go_keyed_receive, "ph-key")
    with pytest.raises(romancy.WorkflowFailedError, match=r"channel:ph-key:1.*is reserved"):
        await app.wait_for_result(instance_id, timeout=30)
