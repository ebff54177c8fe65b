"""The MCP server of an App: registered workflows as tools, instances as resources."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import mcp.types as types
from mcp.server import Server as LowLevelServer
from mcp.server import ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette

from romancy import hosting
from romancy.app import App
from romancy.errors import ConfigurationError, RomancyError
from romancy.mcp import _http, _resources
from romancy.mcp._tools import Tool, WorkflowTools
from romancy.workflow import Workflow

log = logging.getLogger("romancy.mcp")

DEFAULT_NAME = "romancy-mcp-server"
DEFAULT_VERSION = "1.0.0"


class Server:
    """Serves an :class:`~romancy.App`'s workflows to MCP clients (Go's ``mcp.NewServer``).

    ``register_workflow`` adds four tools per workflow; the instance list and each
    instance are resources. Serve it with :meth:`run_stdio`, :meth:`serve_http`, or
    mount :meth:`asgi` in an ASGI server. The App is started with the server when it is
    not running yet, and shut down with it.
    """

    def __init__(
        self,
        app: App,
        *,
        name: str = DEFAULT_NAME,
        version: str = DEFAULT_VERSION,
        instructions: str | None = None,
    ) -> None:
        self._app = app
        self._tools: dict[str, Tool] = {}
        self._workflows: list[WorkflowTools] = []
        self._mcp: LowLevelServer[Any] = LowLevelServer(
            name,
            version=version,
            instructions=instructions
            or "Durable workflows: <workflow>_start returns an instance id; poll "
            "<workflow>_status or <workflow>_result with it; <workflow>_cancel stops it.",
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_list_resource_templates=self._list_templates,
            on_read_resource=self._read_resource,
        )

    @property
    def app(self) -> App:
        """The App whose workflows are served."""
        return self._app

    @property
    def mcp_server(self) -> LowLevelServer[Any]:
        """The underlying ``mcp`` SDK server (advanced use)."""
        return self._mcp

    @property
    def tool_names(self) -> list[str]:
        """Every tool name, in registration order."""
        return list(self._tools)

    def register_workflow(
        self,
        workflow: Workflow[Any, Any],
        *,
        prefix: str | None = None,
        description: str = "",
    ) -> list[str]:
        """Serve ``workflow`` as ``<prefix>_start``, ``_status``, ``_result``, ``_cancel``.

        ``prefix`` defaults to the workflow's name; ``description`` to the first paragraph
        of its docstring. The workflow is registered with the App too. Returns the tool
        names.
        """
        if not isinstance(workflow, Workflow):
            raise ConfigurationError(
                "register_workflow takes a workflow defined with @romancy.workflow, "
                f"not {type(workflow).__name__}"
            )
        tools = WorkflowTools(workflow, prefix=prefix, description=description)
        taken = sorted(set(tools.tools) & set(self._tools))
        if taken:
            raise ConfigurationError(
                f"tools {', '.join(taken)} are already served; pass a different prefix="
            )
        self._app.register_workflow(workflow)
        self._workflows.append(tools)
        self._tools.update(tools.tools)
        return list(tools.tools)

    def register_workflows(self, workflows: Iterable[Workflow[Any, Any]]) -> list[str]:
        """:meth:`register_workflow` for each, with default names; returns every new tool."""
        return [name for workflow in workflows for name in self.register_workflow(workflow)]

    # ------------------------------------------------------------------ transports

    async def run_stdio(self) -> None:
        """Serve one client over this process's stdin and stdout until it disconnects."""
        async with hosting.lifespan(self._app), stdio_server() as (read, write):
            await self._mcp.run(read, write, self._mcp.create_initialization_options())

    def asgi(
        self, *, path: str = _http.DEFAULT_PATH, events: bool = True, host: str = "127.0.0.1"
    ) -> Starlette:
        """Streamable HTTP at ``path`` as an ASGI app, by default next to the App's own
        endpoint (:meth:`App.asgi`: CloudEvents, health, cancel) on every other path.

        Its lifespan starts the App and the MCP session manager: a host that mounts it
        must enter ``asgi.router.lifespan_context(asgi)`` in its own lifespan. ``host`` is
        the address it will be reached on: a loopback one turns on the SDK's DNS-rebinding
        protection (Host and Origin must be loopback too).
        """
        return _http.streamable_app(self._mcp, self._app, path=path, events=events, host=host)

    async def serve_http(
        self, host: str = "127.0.0.1", port: int = 8000, *, path: str = _http.DEFAULT_PATH
    ) -> None:
        """Serve :meth:`asgi` with uvicorn on ``host:port`` until cancelled."""
        await _http.serve(self.asgi(path=path, host=host), host, port)

    # ------------------------------------------------------------------- handlers

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[tool.definition for tool in self._tools.values()])

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        tool = self._tools.get(params.name)
        if tool is None:
            raise MCPError(
                types.INVALID_PARAMS,
                f"unknown tool {params.name!r}; this server has {', '.join(self._tools)}",
            )
        try:
            answer = await tool.call(self._app, params.arguments)
        except RomancyError as error:
            return _tool_error(str(error))
        except Exception as error:
            # Logged here with its traceback; the client gets the kind of failure only.
            log.exception("MCP tool %s failed", params.name)
            return _tool_error(f"internal error in {params.name}: {type(error).__name__}")
        text = json.dumps(answer, ensure_ascii=False)
        return types.CallToolResult(
            content=[types.TextContent(text=text)], structured_content=answer
        )

    async def _list_resources(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=_resources.RESOURCES)

    async def _list_templates(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=_resources.TEMPLATES)

    async def _read_resource(
        self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        try:
            return await _resources.read(self._app, params.uri)
        except RomancyError as error:
            raise MCPError(types.INVALID_PARAMS, str(error)) from None


def _tool_error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)
