"""Order workflows served to AI assistants over MCP (the Model Context Protocol).

    python examples/mcp.py                       # an MCP server on stdin/stdout
    python examples/mcp.py --http 127.0.0.1:8000 # the same over streamable HTTP, at /mcp
    python examples/mcp.py --demo                # a client of its own: calls every tool

Needs ``pip install 'romancy[mcp]'``. Each workflow becomes four tools:
``process_order_start`` (answers an instance id at once), ``process_order_status``,
``process_order_result`` and ``process_order_cancel``; likewise ``await_approval_*``.
The resource ``romancy://instances`` lists the instances.

Connecting Claude Desktop: add to its ``claude_desktop_config.json`` (absolute paths,
since the app starts the server from a directory of its own choosing)::

    {
      "mcpServers": {
        "romancy-orders": {
          "command": "/path/to/venv/bin/python",
          "args": ["/path/to/examples/mcp.py", "--db", "sqlite:////path/to/orders.db"]
        }
      }
    }

``romancy mcp --db URL --module my_workflows`` serves any module the same way, without
a script. What to watch:

* On stdio, stdout *is* the protocol: log to stderr (the server sends stray prints of
  workflow code there while it serves).
* The workflows outlive the conversation: a started order keeps running (and resumes
  after a restart) whether or not the assistant asks for its result.
* ``--http`` binds 127.0.0.1 unless told otherwise, and there it refuses requests whose
  Host or Origin is not loopback; anything that can reach the port can start workflows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from dataclasses import dataclass

# This file is named like the SDK: drop its folder from the import path so that
# `import mcp` (inside romancy.mcp) finds the SDK and not this script.
HERE = os.path.abspath(__file__)
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(HERE):
    sys.path.pop(0)

from mcp import Client, StdioServerParameters  # noqa: E402 - after the path fix

import romancy  # noqa: E402
from romancy import WorkflowContext  # noqa: E402
from romancy.mcp import Server  # noqa: E402

DATABASE = "sqlite:///mcp_orders.db"


@dataclass
class Order:
    order_id: str
    item: str
    quantity: int = 1


@romancy.activity
async def reserve(ctx: WorkflowContext, order: Order) -> str:
    return f"RES-{order.order_id}"


@romancy.activity
async def charge(ctx: WorkflowContext, order: Order) -> float:
    return round(9.5 * order.quantity, 2)


@romancy.workflow
async def process_order(ctx: WorkflowContext, order: Order) -> dict[str, object]:
    """Reserve stock, wait for the warehouse, then charge for an order."""
    reservation = await reserve(ctx, order)
    await romancy.sleep(ctx, 1)  # a durable timer: the instance waits, then resumes
    return {
        "order_id": order.order_id,
        "reservation": reservation,
        "charged": await charge(ctx, order),
    }


@romancy.workflow
async def await_approval(ctx: WorkflowContext, request: str) -> str:
    """Wait up to a day for a manager to approve a request."""
    await romancy.sleep(ctx, 24 * 3600)
    return f"{request}: approved"


def build_server(database: str) -> Server:
    server = Server(romancy.App(database=database, service_name="mcp-orders"), name="orders")
    server.register_workflows([process_order, await_approval])
    return server


async def wait_for(client: Client, tool: str, instance: dict[str, object], status: str) -> None:
    """Poll a status tool until the instance reaches ``status`` (30 s at most)."""
    async with asyncio.timeout(30):
        while True:
            reply = await client.call_tool(tool, instance)
            if reply.structured_content["status"] == status:  # type: ignore[index]
                return
            await asyncio.sleep(0.2)


async def demo(database: str) -> None:
    """Run this file as an MCP server (stdio) and drive it with the SDK's client."""
    params = StdioServerParameters(
        command=sys.executable,
        args=[HERE, "--db", database],
        env=dict(os.environ),
    )
    async with Client(params) as client:

        async def call(tool: str, arguments: dict[str, object]) -> dict[str, object]:
            result = await client.call_tool(tool, arguments)
            answer = result.structured_content
            print(f"{tool} -> {json.dumps(answer) if answer else result.content[0].text}")  # type: ignore[union-attr]
            return answer or {}

        tools = (await client.list_tools()).tools
        print("tools:", ", ".join(tool.name for tool in tools))
        order = await call(
            "process_order_start", {"order_id": "ORD-7", "item": "kettle", "quantity": 2}
        )
        instance = {"instance_id": order["instance_id"]}
        await call("process_order_result", instance)  # still waiting for the warehouse
        await wait_for(client, "process_order_status", instance, "completed")
        await call("process_order_result", instance)

        approval = await call("await_approval_start", {"input": "new laptop"})
        request = {"instance_id": approval["instance_id"]}
        await wait_for(client, "await_approval_status", request, "waiting_for_timer")
        await call("await_approval_cancel", {**request, "reason": "withdrawn"})
        await call("process_order_start", {"order_id": "ORD-8"})  # a mistake: no item

        listing = await client.read_resource("romancy://instances")
        instances = json.loads(listing.contents[0].text)["instances"]  # type: ignore[union-attr]
        print(f"romancy://instances -> {len(instances)} instances:")
        for item in sorted(instances, key=lambda i: str(i["workflow_name"])):
            print(f"  {item['workflow_name']}: {item['status']}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DATABASE, help="database URL (default: %(default)s)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--http", metavar="HOST:PORT", help="serve streamable HTTP instead of stdio")
    mode.add_argument("--demo", action="store_true", help="start a client against this server")
    args = parser.parse_args()
    if args.demo:
        await demo(args.db)
    elif args.http:
        host, _, port = args.http.rpartition(":")
        print(f"MCP at http://{host or '127.0.0.1'}:{port}/mcp", file=sys.stderr)
        await build_server(args.db).serve_http(host or "127.0.0.1", int(port))
    else:
        await build_server(args.db).run_stdio()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
