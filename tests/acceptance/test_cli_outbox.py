"""``romancy outbox list|retry`` as an operator runs them: a failed event comes back."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from romancy import AppConfig
from romancy.outbox import OutboxRelayer
from romancy.storage import Storage
from tests.support.http import Broker, serving


def romancy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "romancy", *args], capture_output=True, text=True, timeout=120
    )


def romancy_json(*args: str) -> Any:
    result = romancy(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
async def outbox_db(make_database: Callable[[], str]) -> AsyncIterator[tuple[str, Storage]]:
    url = make_database()
    storage = await Storage.open(url, pool_size=1)
    try:
        await storage.migrate()
        yield url, storage
    finally:
        await storage.close()


async def _relay(storage: Storage, event_id: str, status: int) -> Broker:
    """Queue ``event_id`` and run one relayer pass against a broker answering ``status``."""
    await storage.outbox.add(event_id, f"order.{event_id}", "shop", "{}", "application/json")
    return await _pass(storage, Broker(statuses=[status]))


async def _pass(storage: Storage, broker: Broker) -> Broker:
    async with serving(broker) as url:
        config = AppConfig(database=storage.url.original, broker_url=url, outbox_max_retries=1)
        relayer = OutboxRelayer(storage, config)
        try:
            await relayer.relay_once()
        finally:
            await relayer.stop()
    return broker


def _statuses(url: str, *flags: str) -> dict[str, str]:
    listed = romancy_json("outbox", "list", "--db", url, *flags)
    return {event["event_id"]: event["status"] for event in listed["events"]}


async def test_list_then_retry_a_failed_event_by_id(
    outbox_db: tuple[str, Storage],
) -> None:
    url, storage = outbox_db
    await _relay(storage, "e-sent", 202)
    await _relay(storage, "e-refused", 400)
    await _relay(storage, "e-down", 500)  # max retries 1: failed at once

    assert _statuses(url) == {"e-sent": "published", "e-refused": "invalid", "e-down": "failed"}
    assert _statuses(url, "--status", "failed") == {"e-down": "failed"}
    table = romancy("outbox", "list", "--db", url)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[:4] == ["EVENT", "ID", "TYPE", "STATUS"]
    cells = {row.split()[0]: row.split() for row in rows if row.startswith("e-")}
    assert cells["e-down"][1:4] == ["order.e-down", "failed", "1"]
    assert "HTTP 500" in " ".join(cells["e-down"])
    assert cells["e-sent"][2] == "published"
    # A failed event stays failed: a relayer pass does not send it.
    assert (await _pass(storage, Broker())).requests == []

    retried = romancy("outbox", "retry", "--id", "e-down", "e-sent", "--db", url)
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.splitlines() == [
        "Reset 1 event from failed to pending",
        "1 of the given events were not failed and were left alone",
    ]
    broker = await _pass(storage, Broker())
    assert [headers["ce-id"] for headers, _ in broker.requests] == ["e-down"]
    assert _statuses(url)["e-down"] == "published"
    assert (await _pass(storage, Broker())).requests == []  # received exactly once


async def test_retry_by_status(outbox_db: tuple[str, Storage]) -> None:
    url, storage = outbox_db
    await _relay(storage, "e-refused", 400)
    await _relay(storage, "e-down", 500)

    assert romancy_json("--db", url, "outbox", "retry") == {
        "reset": 1,
        "status": "failed",
        "event_ids": [],
    }
    assert _statuses(url) == {"e-refused": "invalid", "e-down": "pending"}
    assert romancy_json("outbox", "retry", "--status", "invalid", "--db", url)["reset"] == 1
    assert _statuses(url, "--status", "pending") == {"e-refused": "pending", "e-down": "pending"}
    nothing = romancy("outbox", "retry", "--db", url)
    assert nothing.returncode == 0 and "Reset 0 events" in nothing.stdout


async def test_bad_input_is_one_clear_error(outbox_db: tuple[str, Storage]) -> None:
    url, storage = outbox_db
    await _relay(storage, "e-down", 500)
    valid = "pending, processing, published, failed, invalid, expired"

    for command in ("list", "retry"):  # usage errors: exit 2
        bad = romancy("outbox", command, "--status", "sent", "--db", url)
        assert bad.returncode == 2
        assert bad.stderr.startswith(f"Error: outbox {command}: unknown outbox status 'sent'")
        assert valid in bad.stderr
    claimed = romancy("outbox", "retry", "--status", "processing", "--db", url)
    assert claimed.returncode == 2 and "processing" in claimed.stderr

    unknown = romancy("outbox", "retry", "--id", "e-down", "--id", "e-nope", "--db", url)
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("Error: no outbox event with id e-nope")
    assert _statuses(url) == {"e-down": "failed"}  # nothing was reset
    limit = romancy("outbox", "list", "--limit", "0", "--db", url)
    assert limit.returncode == 2 and "--limit must be an integer" in limit.stderr
