"""Connecting the MCP SDK's own client to romancy's server, over stdio or HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

from romancy import App
from romancy.mcp import DEFAULT_NAME, Server, discover
from tests.support.fixtures import FAST_OPTIONS
from tests.support.http import serving

REPO = Path(__file__).resolve().parents[2]
MODULE = "tests.mcp.flows"
TRANSPORTS = ["stdio", "http"]


def command(*args: str) -> list[str]:
    """``python -m romancy`` with ``args``."""
    return [sys.executable, "-m", "romancy", *args]


def stdio_server(database: str) -> StdioServerParameters:
    """``romancy mcp`` on ``database`` serving the test module, as a subprocess."""
    argv = command("mcp", "--db", database, "--module", MODULE)
    return StdioServerParameters(
        command=argv[0], args=argv[1:], cwd=str(REPO), env=dict(os.environ)
    )


def served(database: str, name: str = DEFAULT_NAME) -> Server:
    """A server of the test module's workflows on an App with fast background loops.

    Tests start the App before uvicorn: migrating a fresh database on a busy machine
    can take longer than the harness waits for a server to come up.
    """
    server = Server(App(database=database, **FAST_OPTIONS), name=name)
    server.register_workflows(discover(MODULE).workflows)
    return server


@contextlib.asynccontextmanager
async def http_server(database: str) -> AsyncIterator[str]:
    """The test module served by ``Server.asgi()`` under uvicorn; yields the MCP URL."""
    server = served(database)
    async with server.app, serving(server.asgi(), lifespan=True) as base:
        yield f"{base}/mcp"


@contextlib.asynccontextmanager
async def connect(transport: str, database: str) -> AsyncIterator[Client]:
    """An initialised SDK client talking to a server of the test module."""
    if transport == "stdio":
        async with Client(stdio_server(database)) as client:
            yield client
    else:
        async with http_server(database) as url, Client(url) as client:
            yield client


def answer(result: CallToolResult) -> dict[str, Any]:
    """The structured answer of a successful tool call."""
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    """The message of a tool error."""
    assert result.is_error, result.structured_content
    text: str = result.content[0].text  # type: ignore[union-attr]
    return text


async def wait_status(
    client: Client, tool: str, instance_id: str, *statuses: str, timeout: float = 20.0
) -> dict[str, Any]:
    """Poll ``tool`` (a ``_status`` tool) until the instance reaches one of ``statuses``."""
    async with asyncio.timeout(timeout):
        while True:
            status = answer(await client.call_tool(tool, {"instance_id": instance_id}))
            if status["status"] in statuses:
                return status
            await asyncio.sleep(0.05)
