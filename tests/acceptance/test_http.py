"""The HTTP endpoint over real HTTP (uvicorn on 127.0.0.1): routes, modes, every status."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import func, select

import romancy
import romancy.validation
from romancy import App, WorkflowContext
from romancy.storage.tables import channel_messages
from tests.integration.engine.helpers import wait_for_status
from tests.support.http import serving


@pytest.fixture
def app_options() -> dict[str, object]:
    return {"max_request_bytes": 2048}


@romancy.workflow
async def http_waiter(ctx: WorkflowContext, event_type: str) -> object:
    event = await romancy.wait_event(ctx, event_type)
    return {"data": event.data, "id": event.id, "ext": event.extensions}


@romancy.workflow
async def http_sleeper(ctx: WorkflowContext) -> None:
    await romancy.sleep(ctx, 3600)


@romancy.workflow
async def http_quick(ctx: WorkflowContext) -> str:
    return "done"


async def _messages(app: App) -> int:
    async with app.storage.transaction(read_only=True) as tx:
        return int(
            await tx.connection.scalar(select(func.count()).select_from(channel_messages)) or 0
        )


async def test_cloudevents_in_both_content_modes(app: App) -> None:
    binary_waiter = await app.start_workflow(http_waiter, "order.paid")
    structured_waiter = await app.start_workflow(http_waiter, "order.shipped")
    for instance_id in (binary_waiter, structured_waiter):
        await wait_for_status(app, instance_id, "waiting_for_message")
    async with serving(app.asgi()) as url, httpx.AsyncClient(base_url=url) as client:
        binary = await client.post(
            "/",
            content=b'{"amount": 12}',
            headers={
                "ce-specversion": "1.0",
                "ce-id": "b-1",
                "ce-source": "shop",
                "ce-type": "order.paid",
                "ce-tenant": "acme",
                "content-type": "application/json",
            },
        )
        assert (binary.status_code, binary.json()) == (
            202,
            {"status": "accepted", "delivered": 1, "started": 0},
        )
        structured = await client.post(
            "/",
            content=json.dumps(
                {
                    "specversion": "1.0",
                    "id": "s-1",
                    "source": "shop",
                    "type": "order.shipped",
                    "data": {"carrier": "ups"},
                    "dataschema": "https://schemas.example/shipped.json",
                    "region": "eu",
                }
            ),
            headers={"content-type": "application/cloudevents+json"},
        )
        assert structured.status_code == 202
    assert await app.wait_for_result(binary_waiter, timeout=20) == {
        "data": {"amount": 12},
        "id": "b-1",
        "ext": {"tenant": "acme"},
    }
    assert await app.wait_for_result(structured_waiter, timeout=20) == {
        "data": {"carrier": "ups"},
        "id": "s-1",
        "ext": {"region": "eu", "dataschema": "https://schemas.example/shipped.json"},
    }
    # Stored in Edda's layout, with what Edda writes too (docs/compat.md).
    async with app.storage.transaction(read_only=True) as tx:
        stored = await tx.connection.scalar(
            select(channel_messages.c.metadata).where(channel_messages.c.channel == "order.shipped")
        )
    metadata = json.loads(stored)
    assert metadata["ce_extensions"]["dataschema"] == "https://schemas.example/shipped.json"
    assert romancy.validation.validate("channel-message-metadata", metadata) == []
    assert metadata["published_at"].endswith("Z")


@pytest.mark.parametrize(
    ("body", "headers", "status", "error_type"),
    [
        (b'{"specversion": "1.0", "id": ', {"content-type": "application/json"}, 400, "ParseError"),
        (b'{"specversion": "1.0", "id": "x", "source": "s"}', {}, 400, "ValidationError"),
        (
            b"{}",
            {
                "ce-specversion": "1.0",
                "ce-id": "x",
                "ce-type": "t",
                "content-type": "application/json",
            },
            400,
            "ValidationError",
        ),
        (
            b'{"specversion": "0.3", "id": "x", "source": "s", "type": "t"}',
            {},
            400,
            "ValidationError",
        ),
        (
            b'{"specversion": "1.0", "id": "x", "source": "s", "type": "t", "time": "yesterday"}',
            {},
            400,
            "ValidationError",
        ),
        (
            b"[]",
            {"content-type": "application/cloudevents-batch+json"},
            415,
            "UnsupportedMediaType",
        ),
        (b"x" * 4096, {"content-type": "application/json"}, 413, "PayloadTooLarge"),
    ],
)
async def test_bad_events_are_refused_and_store_nothing(
    app: App, body: bytes, headers: dict[str, str], status: int, error_type: str
) -> None:
    async with serving(app.asgi()) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.post("/", content=body, headers=headers)
    assert response.status_code == status
    payload = response.json()
    assert (
        payload["error_type"] == error_type and payload["retryable"] is False and payload["error"]
    )
    assert await _messages(app) == 0


async def test_routes_methods_health_and_cancel(app: App) -> None:
    sleeping = await app.start_workflow(http_sleeper)
    finished = await app.start_workflow(http_quick)
    await app.wait_for_result(finished, timeout=20)
    await wait_for_status(app, sleeping, "waiting_for_timer")
    async with serving(app.asgi()) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/health/live")).status_code == 200
        assert (await client.get("/health/ready")).json() == {"status": "ok"}
        assert (await client.get("/")).status_code == 405
        assert (await client.get(f"/cancel/{sleeping}")).status_code == 405
        assert (await client.post("/health/live")).status_code == 405
        missing = await client.post("/cancel/no-such-instance")
        assert (missing.status_code, missing.json()["error_type"]) == (404, "NotFound")
        done = await client.post(f"/cancel/{finished}")
        assert (done.status_code, done.json()["error_type"]) == (409, "Conflict")
        bad = await client.post(f"/cancel/{sleeping}", content=b"{not json")
        assert (bad.status_code, bad.json()["error_type"]) == (400, "ParseError")
        ok = await client.post(f"/cancel/{sleeping}", json={"reason": "customer asked"})
        assert ok.json() == {"status": "cancelled", "instance_id": sleeping}
    with pytest.raises(romancy.WorkflowCancelledError, match="customer asked"):
        await app.wait_for_result(sleeping, timeout=5)


async def test_cancel_an_instance_whose_id_holds_a_slash(app: App) -> None:
    # The id travels percent-encoded (%2F); the server's decoded path alone would split it.
    instance_id = await app.start_workflow(http_sleeper, instance_id="orders/7")
    await wait_for_status(app, instance_id, "waiting_for_timer")
    async with serving(app.asgi()) as url, httpx.AsyncClient(base_url=url) as client:
        split = await client.post("/cancel/orders/7")
        assert (split.status_code, split.json()["error_type"]) == (400, "ValidationError")
        ok = await client.post("/cancel/orders%2F7", json={"reason": "slash"})
        assert ok.json() == {"status": "cancelled", "instance_id": "orders/7"}
    assert (await app.get_instance(instance_id)).status == "cancelled"


async def test_mounted_under_a_prefix(app: App) -> None:
    inner = app.asgi()

    async def mounted(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] == "http":
            scope = {**scope, "root_path": "/romancy"}
        await inner(scope, receive, send)  # type: ignore[arg-type]

    async with serving(mounted) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/romancy/health/live")).status_code == 200


async def test_serve_listens_on_the_given_address(storage: romancy.Storage) -> None:
    import asyncio
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served = App(database=storage.url.original)
    task = asyncio.create_task(served.serve("127.0.0.1", port))
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    response = await client.get(f"http://127.0.0.1:{port}/health/ready")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            assert response.json() == {"status": "ok"}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert not served.is_running


async def test_interrupted_server_hands_its_leases_back(storage: romancy.Storage) -> None:
    """Ctrl-C on a serving process: uvicorn stops, then re-raises the signal, which
    cancels the main task while the App shuts down; the shutdown still completes, so the
    leader lease is free at once instead of blocking timers for the whole lease."""
    import asyncio
    import signal
    import socket
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lock = romancy.AppConfig(database=storage.url.original).leader_lock_name
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.acceptance.programs.server",
        f"--db={storage.url.original}",
        f"--port={port}",
        "--worker-id=interrupted-server",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert await asyncio.wait_for(process.stdout.readline(), 60) == b"leading\n"
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    await client.get(f"http://127.0.0.1:{port}/health/live")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
        holder = await storage.locks.system_lock(lock)
        assert holder is not None and holder.locked_by == "interrupted-server"
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    holder = await storage.locks.system_lock(lock)
    assert holder is not None and holder.locked_by is None
