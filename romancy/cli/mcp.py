"""``romancy mcp``: serve a module's workflows to MCP clients, over stdio or HTTP."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from romancy.cli.options import add_command, add_database_flag, database_url, value_check
from romancy.errors import ConfigurationError, InvalidValueError


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``:PORT`` means 127.0.0.1; ``[::1]:PORT`` for IPv6)."""
    host, colon, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not colon or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InvalidValueError(f"--http takes HOST:PORT with a port from 1 to 65535, got {text!r}")
    return host, int(port)


def register(subcommands: Any) -> None:
    parser = add_command(subcommands, "mcp", run_mcp)
    add_database_flag(parser)
    parser.add_argument(
        "--module",
        "-m",
        required=True,
        metavar="MODULE",
        help="the module defining the workflows: a dotted name (importable from the "
        "current directory) or a path to a .py file",
    )
    parser.add_argument(
        "--http",
        metavar="HOST:PORT",
        type=value_check(parse_address),
        help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio "
        "(e.g. 127.0.0.1:8000; binding another address exposes the tools to that network)",
    )
    parser.add_argument("--name", default=None, metavar="NAME", help="the server name clients see")


async def run_mcp(args: argparse.Namespace) -> int:
    """Serve a module's workflows as MCP tools (needs romancy[mcp]).

    Imports MODULE, and serves every workflow it defines at its top level as four tools
    (<name>_start, _status, _result, _cancel) plus the instance list as a resource.
    The App the module defines is used when there is one (then leave out --db); else
    an App on --db. Speaks MCP over stdin/stdout until the client disconnects, or
    streamable HTTP with --http.
    """
    from romancy.app import App
    from romancy.mcp import DEFAULT_NAME, Server, discover

    found = discover(args.module)
    app = found.app
    if app is None:
        app = App(database=database_url(args).original)
    elif getattr(args, "db", None) is not None or getattr(args, "db_top", None) is not None:
        raise ConfigurationError(
            f"module {args.module} defines its own App (on {app.config.database}); leave out --db"
        )
    server = Server(app, name=args.name or DEFAULT_NAME)
    tools = server.register_workflows(found.workflows)
    if args.http is None:
        await server.run_stdio()
        return 0
    host, port = args.http
    shown = f"[{host}]" if ":" in host else host
    print(
        f"romancy mcp: {len(tools)} tools at http://{shown}:{port}/mcp", file=sys.stderr, flush=True
    )
    await server.serve_http(host, port)
    return 0
