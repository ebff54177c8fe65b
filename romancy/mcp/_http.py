"""The streamable-HTTP face of an MCP server: an ASGI app, and uvicorn to serve it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from mcp.server import Server as LowLevelServer
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from romancy import hosting
from romancy.app import App

DEFAULT_PATH = "/mcp"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _security(host: str) -> TransportSecuritySettings | None:
    """On a loopback address, refuse requests whose Host or Origin is not loopback: a web
    page the user visits cannot then reach the server by DNS rebinding."""
    if host not in LOOPBACK:
        return None
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


def streamable_app(
    mcp: LowLevelServer[Any], app: App, *, path: str, events: bool, host: str
) -> Starlette:
    """MCP at ``path``; with ``events`` the App's own endpoint (CloudEvents, health,
    cancel) answers every other path. Its lifespan starts the App and the MCP sessions."""
    # Stateless with JSON answers: any worker behind a load balancer can take any call,
    # since every tool reads the database rather than per-session state.
    manager = StreamableHTTPSessionManager(
        app=mcp, json_response=True, stateless=True, security_settings=_security(host)
    )
    routes: list[BaseRoute] = [Route(path, endpoint=StreamableHTTPASGIApp(manager))]
    if events:
        routes.append(Mount("/", app=app.asgi()))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with hosting.lifespan(app), manager.run():
            yield

    return Starlette(routes=routes, lifespan=lifespan)


async def serve(asgi: Starlette, host: str, port: int) -> None:
    """Serve ``asgi`` with uvicorn until cancelled."""
    uvicorn = hosting.load_uvicorn()
    config = uvicorn.Config(asgi, host=host, port=port, lifespan="on", log_level="warning")
    await uvicorn.Server(config).serve()
