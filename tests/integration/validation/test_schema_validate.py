"""``romancy schema validate`` as a user runs it, on every backend: a database written by
real workflows (and by the peers' layouts) is clean; damage to the schema or to stored
JSON is reported line by line, with exit status 1."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

import romancy
from romancy import App, CloudEvent, WorkflowContext
from romancy.storage import NewInstance, Storage, parse_database_url
from romancy.wire import history as wh
from romancy.wire import messages as wm
from tests.support.databases import PREFIX
from tests.support.databases import _admin as run_admin
from tests.support.fixtures import FAST_OPTIONS, Backend


def romancy_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "romancy", *args], capture_output=True, text=True, timeout=180
    )


# --------------------------------------------------------------- legitimate content


@romancy.activity
async def sv_reserve(ctx: WorkflowContext, item: str) -> dict[str, str]:
    await romancy.send_event(ctx, "stock.reserved", "/tests", {"item": item})
    return {"reserved": item}


@sv_reserve.compensation
async def sv_release(ctx: WorkflowContext, item: str) -> None:
    return None


@romancy.activity(retry_policy=romancy.RetryPolicy(max_attempts=1))
async def sv_charge(ctx: WorkflowContext, amount: int) -> None:
    raise romancy.TerminalError(f"card declined for {amount}")


@romancy.workflow
async def sv_order(ctx: WorkflowContext, order: dict[str, Any]) -> dict[str, Any]:
    reservation = await sv_reserve(ctx, str(order["item"]))
    await romancy.subscribe(ctx, "sv-payments")
    payment = await romancy.receive(ctx, "sv-payments", timeout=60)
    event = await romancy.wait_event(ctx, "sv.shipped", timeout=60)
    await romancy.sleep(ctx, 0.2)
    await romancy.publish(ctx, "sv-done", {"order": order["item"]})
    if order.get("fail"):
        await sv_charge(ctx, 10)
    return {"reservation": reservation, "paid": payment.data, "shipped": event.data}


async def _write_legitimate_rows(url: str) -> str:
    """Run real workflows to completion and failure, and store rows in the peers'
    layouts; returns the id of a completed instance."""
    app = App(database=url, **FAST_OPTIONS)
    await app.start()
    try:
        done = await app.start_workflow(sv_order, {"item": "book"})
        failed = await app.start_workflow(sv_order, {"item": "lamp", "fail": True})
        for instance_id in (done, failed):
            await _until_waiting(app, instance_id, "waiting_for_message")
        await romancy.publish(app, "sv-payments", {"amount": 10}, metadata={"by": "tests"})
        await romancy.publish(app, "sv-payments", {"amount": 12})
        for instance_id in (done, failed):
            await _until_waiting(app, instance_id, "waiting_for_message", "sv.shipped")
        shipped = CloudEvent(
            id="ce-1",
            type="sv.shipped",
            source="/warehouse",
            time=datetime(2026, 1, 1, tzinfo=UTC),
            data={"carrier": "post"},
            extensions={"tenant": "t1"},
        )
        await romancy.ingest_cloudevent(app, shipped)
        assert (await app.wait_for_result(done, timeout=60))["shipped"] == {"carrier": "post"}
        with pytest.raises(romancy.WorkflowFailedError):
            await app.wait_for_result(failed, timeout=60)
        await romancy.publish(app, "sv-binary", b"\x00\x01\x02", metadata={"kind": "raw"})
    finally:
        await app.shutdown()

    storage = await Storage.open(url)
    try:  # rows as Go Romancy and Edda write them into a shared database
        for framework, records in {
            "go": [
                ("ActivityCompleted", "charge:1", 42),
                ("ActivityFailed", "ship:1", "carrier unavailable"),
                ("ChannelMessageReceived", "receive_c:1", json.loads(_go_delivery())),
                ("WorkflowFailed", "", {"error": "boom"}),
            ],
            "python": [
                (
                    "ActivityCompleted",
                    "charge:1",
                    {"activity_name": "charge", "result": 1, "input": {"args": [], "kwargs": {}}},
                ),
                (
                    "TimerExpired",
                    "sleep:1",
                    {
                        "result": None,
                        "timer_id": "sleep:1",
                        "expires_at": "2026-11-25T01:28:51.278907",
                    },
                ),
                (
                    "ChannelMessageReceived",
                    "receive_c:1",
                    {
                        "id": "7b8c-uuid",
                        "channel": "c",
                        "data": {"n": 1},
                        "metadata": {"published_at": "2026-11-25T01:28:35+00:00"},
                        "published_at": "2026-11-25T01:28:35",
                    },
                ),
            ],
        }.items():
            instance_id = await _peer_instance(storage, framework)
            for event_type, activity_id, data in records:
                await storage.history.append_history(
                    instance_id, activity_id, event_type, json.dumps(data)
                )
        peer = await _peer_instance(storage, "python")
        await storage.history.append_history(
            peer, "receive_b:1", "ChannelMessageReceived", b"\x00raw"
        )
    finally:
        await storage.close()
    return done


def _go_delivery() -> str:
    stored = wm.StoredMessage(9, "m-9", "c", {"n": 1}, None, datetime(2026, 1, 1, tzinfo=UTC))
    text = wm.delivery_record(stored, wm.GO)
    assert isinstance(text, str)
    return text


async def _peer_instance(storage: Storage, framework: str) -> str:
    instance_id = f"{framework}-{uuid.uuid4()}"
    await storage.instances.create_instance(
        NewInstance(
            instance_id=instance_id,
            workflow_name="peer_workflow",
            source_hash="h",
            source_code="",
            owner_service="peer",
            framework=framework,
            input_data='{"x": 1}',
        )
    )
    return instance_id


async def _until_waiting(app: App, instance_id: str, status: str, channel: str = "") -> None:
    for _ in range(600):
        instance = await app.get_instance(instance_id)
        if instance.status == status and channel in (instance.current_activity_id or ""):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{instance_id} never reached {status} {channel}")


# ------------------------------------------------------------------------- tests


async def test_a_database_written_by_real_workflows_is_clean(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    storage = await Storage.open(url)
    await storage.migrate()
    await storage.close()
    await _write_legitimate_rows(url)

    result = romancy_cli("schema", "validate", "--db", url)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith(f"{parse_database_url(url).redacted}: clean: the schema matches")
    assert "binary skipped" in summary and "20251217000000" in summary

    as_json = romancy_cli("--db", url, "schema", "validate", "--json")  # --db first works too
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["clean"] is True
    assert report["schema_differences"] == report["row_differences"] == []
    assert report["rows_checked"]["workflow_history"] >= 15
    assert report["rows_checked"]["channel_messages"] >= 4
    assert report["rows_checked"]["outbox_events"] >= 2
    assert report["binary_rows_skipped"] == 2  # the binary message and Edda's binary delivery


async def test_damage_is_reported_by_name(make_database: Callable[[], str]) -> None:
    url = make_database()
    dialect = parse_database_url(url).dialect
    storage = await Storage.open(url)
    try:
        await storage.migrate()
        instance_id = await _peer_instance(storage, "romancy-py")
        good = json.loads(wm.delivery_record(_message(), "romancy-py"))
        del good["channel"]
        await storage.history.append_history(
            instance_id, "receive_orders:1", wh.CHANNEL_MESSAGE_RECEIVED, json.dumps(good)
        )
        [history_row] = await storage.history.load_history(instance_id)
        sequence = await storage.channels.insert_message(
            "sv-bad", str(uuid.uuid4()), "json", '{"no": ', None, None
        )
        async with storage.transaction() as tx:
            drop = "DROP INDEX idx_history_created"
            await tx.connection.exec_driver_sql(
                drop + " ON workflow_history" if dialect == "mysql" else drop
            )
            await tx.connection.exec_driver_sql(
                "ALTER TABLE workflow_instances ADD COLUMN extra_note TEXT"
            )
    finally:
        await storage.close()

    result = romancy_cli("schema", "--db", url, "validate")  # flags anywhere on the line
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert any(
        line.startswith("workflow_history: index idx_history_created: expected {")
        and line.endswith("found missing")
        for line in lines
    ), lines
    assert any(
        line.startswith("workflow_instances: column extra_note: expected absent, found {")
        for line in lines
    ), lines
    assert (
        f"workflow_history id={history_row.id} (ChannelMessageReceived): "
        "$.channel: required property missing"
    ) in lines
    assert (
        f"channel_messages id={sequence} (channel sv-bad): data: expected JSON text, "
        "found '{\"no\": ' (Expecting value: line 1 column 8 (char 7))"
    ) in lines
    assert lines[-1].endswith(
        "4 differences: 2 in the schema (expected: migrations 20251217000000), "
        "2 in rows (3 rows checked)"
    ), lines[-1]
    assert len(lines) == 5, lines

    as_json = romancy_cli("schema", "validate", "--json", "--db", url)
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["clean"] is False
    assert {(d["table"], d["item"]) for d in report["schema_differences"]} == {
        ("workflow_history", "index idx_history_created"),
        ("workflow_instances", "column extra_note"),
    }
    assert {
        (d["table"], d["row"], d["column"], d["location"]) for d in report["row_differences"]
    } == {
        ("workflow_history", f"id={history_row.id}", "event_data", "$.channel"),
        ("channel_messages", f"id={sequence}", "data", "data"),
    }


def test_a_database_never_migrated_shows_every_table_missing(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    db = parse_database_url(url)
    if db.dialect == "sqlite":  # an existing, empty file (a missing one is an error)
        Path(db.sqlite_path or "").touch()
    result = romancy_cli("schema", "validate", "--db", url)
    assert result.returncode == 1
    assert "workflow_history: table: expected present, found missing" in result.stdout
    assert "workflow_history: rows not checked (the table is missing)" in result.stdout


def test_bad_and_unreachable_databases_are_one_line_errors() -> None:
    bad = romancy_cli("schema", "validate", "--db", "oracle://scott:tiger@db/orcl")
    assert bad.returncode == 2  # a usage error (docs/cli.md)
    assert bad.stderr.startswith("Error: schema: unknown database URL scheme 'oracle'")
    assert "tiger" not in bad.stderr
    unreachable = romancy_cli("schema", "validate", "--db", "postgresql://u:p@127.0.0.1:1/x")
    assert unreachable.returncode == 1
    assert "Error: cannot connect to postgresql://u:***@127.0.0.1:1/x" in unreachable.stderr
    assert romancy_cli("schema", "check").returncode == 2


@pytest.mark.backends(
    "postgresql", "mysql", reason="SQLite builds the expected schema in a temporary file"
)
async def test_missing_privilege_is_explained(
    backend: Backend, make_database: Callable[[], str]
) -> None:
    url = make_database()
    storage = await Storage.open(url)
    await storage.migrate()
    await storage.close()
    assert backend.server_url is not None
    user = f"{PREFIX}ro_{uuid.uuid4().hex[:8]}"
    database = parse_database_url(url).database
    if backend.name == "postgresql":
        statements = [f"CREATE ROLE {user} LOGIN PASSWORD 'pw'"]
        cleanup = [f"DROP ROLE IF EXISTS {user}"]
    else:
        statements = [
            f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'",
            f"GRANT SELECT ON `{database}`.* TO '{user}'@'%'",
        ]
        cleanup = [f"DROP USER IF EXISTS '{user}'@'%'"]
    _admin(backend, statements)
    try:
        limited = make_url(url).set(username=user, password="pw")
        result = romancy_cli(
            "schema", "validate", "--db", limited.render_as_string(hide_password=False)
        )
    finally:
        _admin(backend, cleanup)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: cannot create the scratch "), result.stderr
    expected = (
        f"GRANT CREATE ON DATABASE {database} TO {user}"
        if backend.name == "postgresql"
        else f"TO '{user}'"
    )
    assert expected in result.stderr, result.stderr
    assert "pw@" not in result.stderr


def _message() -> wm.StoredMessage:
    return wm.StoredMessage(5, "m-5", "orders", {"n": 1}, None, datetime(2026, 1, 1, tzinfo=UTC))


def _admin(backend: Backend, statements: list[str]) -> None:
    assert backend.server_url is not None
    for statement in statements:
        run_admin(backend.name, backend.server_url, statement)
