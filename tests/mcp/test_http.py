"""``Server.asgi()``: streamable HTTP next to the App's own endpoint, its loopback
protection, and mounting it inside a host application."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import httpx
from mcp import Client
from starlette.applications import Starlette
from starlette.routing import Mount

from romancy.wire.status import InstanceStatus
from tests.support.http import serving

from .support import answer, served, wait_status


async def test_mcp_and_the_cloudevents_endpoint_share_one_app(
    make_database: Callable[[], str],
) -> None:
    server = served(make_database(), name="orders-mcp")
    async with (
        server.app,
        serving(server.asgi(), lifespan=True) as base,
        httpx.AsyncClient(base_url=base) as http,
        Client(f"{base}/mcp") as client,
    ):
        assert (await http.get("/health/ready")).status_code == 200
        assert client.server_info is not None
        assert client.server_info.name == "orders-mcp"
        started = answer(await client.call_tool("mcp_await_approval_start", {}))
        instance_id = started["instance_id"]
        await wait_status(
            client, "mcp_await_approval_status", instance_id, InstanceStatus.WAITING_FOR_TIMER
        )
        # Cancelled through the App's HTTP route, seen through the MCP tool.
        response = await http.post(f"/cancel/{instance_id}", json={"reason": "by http"})
        assert response.status_code == 200
        status = answer(
            await client.call_tool("mcp_await_approval_status", {"instance_id": instance_id})
        )
        assert status["status"] == InstanceStatus.CANCELLED


async def test_a_loopback_server_refuses_other_host_names(
    make_database: Callable[[], str],
) -> None:
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    server = served(make_database())
    async with (
        server.app,
        serving(server.asgi(), lifespan=True) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        # What a page on another site reaches after re-pointing its name at 127.0.0.1.
        rebound = await http.post(
            "/mcp", json=request, headers={**headers, "Host": "attacker.example:80"}
        )
        assert rebound.status_code == 421
        foreign = await http.post(
            "/mcp", json=request, headers={**headers, "Origin": "http://attacker.example"}
        )
        assert foreign.status_code == 403


async def test_mounted_in_a_host_application(make_database: Callable[[], str]) -> None:
    server = served(make_database())
    mcp_app = server.asgi(events=False)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with mcp_app.router.lifespan_context(mcp_app):
            yield

    host = Starlette(routes=[Mount("/agent", app=mcp_app)], lifespan=lifespan)
    async with server.app, serving(host, lifespan=True) as base:
        async with Client(f"{base}/agent/mcp") as client:
            started = answer(await client.call_tool("mcp_greet_start", {"input": "Di"}))
            await wait_status(
                client, "mcp_greet_status", started["instance_id"], InstanceStatus.COMPLETED
            )
        async with httpx.AsyncClient(base_url=base) as http:
            # events=False: the App's own routes are not served by this mount.
            assert (await http.get("/agent/health/ready")).status_code == 404
