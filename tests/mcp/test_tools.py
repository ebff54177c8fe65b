"""The four tools per workflow and the instance resources, driven by the MCP SDK's own
client over stdio (``python -m romancy mcp`` as a subprocess) and over streamable HTTP
(``Server.asgi()`` under uvicorn on 127.0.0.1), on every backend."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from mcp import MCPError

from romancy.wire.status import InstanceStatus

from .support import TRANSPORTS, answer, connect, error_text, wait_status

WORKFLOWS = [
    "mcp_ship_order",
    "mcp_refund",
    "mcp_check_address",
    "mcp_greet",
    "mcp_await_approval",
    "mcp_always_fails",
]


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


async def test_lists_four_tools_per_workflow_with_input_schemas(
    transport: str, make_database: Callable[[], str]
) -> None:
    async with connect(transport, make_database()) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}

    assert sorted(tools) == sorted(
        f"{workflow}_{action}"
        for workflow in WORKFLOWS
        for action in ("start", "status", "result", "cancel")
    )
    # A dataclass input is the argument object itself; defaulted fields are optional.
    order = tools["mcp_ship_order_start"].input_schema
    assert order["properties"] == {
        "order_id": {"type": "string"},
        "quantity": {"type": "integer"},
        "note": {"type": "string"},
    }
    assert order["required"] == ["order_id", "quantity"]
    assert order["additionalProperties"] is False
    assert tools["mcp_refund_start"].input_schema["required"] == ["amount", "order_id"]
    address = tools["mcp_check_address_start"].input_schema
    assert set(address["properties"]) == {"city", "zip_code"}
    # A plain value travels as the one argument "input"; no input, no arguments.
    greet = tools["mcp_greet_start"].input_schema
    assert greet["properties"]["input"]["type"] == "string"
    assert greet["required"] == ["input"]
    assert tools["mcp_await_approval_start"].input_schema["properties"] == {}
    # The docstring's first paragraph describes the start tool.
    description = tools["mcp_ship_order_start"].description or ""
    assert "Ship an order and answer with its receipt." in description
    assert "leaves out" not in description
    for workflow in WORKFLOWS:
        for action in ("status", "result"):
            schema = tools[f"{workflow}_{action}"].input_schema
            assert schema["required"] == ["instance_id"]
        assert "reason" in tools[f"{workflow}_cancel"].input_schema["properties"]


async def test_start_poll_status_and_get_the_result(
    transport: str, make_database: Callable[[], str]
) -> None:
    async with connect(transport, make_database()) as client:
        started = answer(
            await client.call_tool("mcp_ship_order_start", {"order_id": "A-1", "quantity": 3})
        )
        instance_id = started["instance_id"]
        assert started["workflow_name"] == "mcp_ship_order"
        status = await wait_status(
            client, "mcp_ship_order_status", instance_id, InstanceStatus.COMPLETED
        )
        assert status["workflow_name"] == "mcp_ship_order"
        assert status["started_at"] <= status["updated_at"]
        result = answer(
            await client.call_tool("mcp_ship_order_result", {"instance_id": instance_id})
        )
        assert result == {
            "instance_id": instance_id,
            "status": InstanceStatus.COMPLETED,
            "finished": True,
            "output": {"shipped": "A-1", "quantity": 3},
        }
        # The text content carries the same answer for clients that read only text.
        text = (await client.call_tool("mcp_greet_start", {"input": "Ada"})).content[0].text  # type: ignore[union-attr]
        greet_id = json.loads(text)["instance_id"]
        await wait_status(client, "mcp_greet_status", greet_id, InstanceStatus.COMPLETED)
        greeting = answer(await client.call_tool("mcp_greet_result", {"instance_id": greet_id}))
        assert greeting["output"] == "hello Ada"

        failing = answer(await client.call_tool("mcp_always_fails_start", {"input": "no stock"}))
        failing_id = failing["instance_id"]
        await wait_status(client, "mcp_always_fails_status", failing_id, InstanceStatus.FAILED)
        failure = answer(
            await client.call_tool("mcp_always_fails_result", {"instance_id": failing_id})
        )
        assert failure["finished"] is True
        assert failure["error"] == {"type": "TerminalError", "message": "no stock"}


async def test_cancel_a_waiting_instance(transport: str, make_database: Callable[[], str]) -> None:
    async with connect(transport, make_database()) as client:
        waiting = answer(await client.call_tool("mcp_await_approval_start", {}))["instance_id"]
        await wait_status(
            client, "mcp_await_approval_status", waiting, InstanceStatus.WAITING_FOR_TIMER
        )
        pending = answer(
            await client.call_tool("mcp_await_approval_result", {"instance_id": waiting})
        )
        assert pending["finished"] is False
        assert "not finished" in pending["message"]

        cancelled = answer(
            await client.call_tool(
                "mcp_await_approval_cancel", {"instance_id": waiting, "reason": "not needed"}
            )
        )
        assert cancelled == {
            "instance_id": waiting,
            "success": True,
            "status": InstanceStatus.CANCELLED,
        }
        status = answer(
            await client.call_tool("mcp_await_approval_status", {"instance_id": waiting})
        )
        assert status["status"] == InstanceStatus.CANCELLED
        result = answer(
            await client.call_tool("mcp_await_approval_result", {"instance_id": waiting})
        )
        assert result["finished"] is True
        assert "not needed" in result["error"]["message"]

        # A completed instance cannot be cancelled: the answer says why, and nothing changes.
        done = answer(await client.call_tool("mcp_greet_start", {"input": "Bo"}))["instance_id"]
        await wait_status(client, "mcp_greet_status", done, InstanceStatus.COMPLETED)
        refused = answer(await client.call_tool("mcp_greet_cancel", {"instance_id": done}))
        assert refused["success"] is False
        assert InstanceStatus.COMPLETED in refused["message"]
        status = answer(await client.call_tool("mcp_greet_status", {"instance_id": done}))
        assert status["status"] == InstanceStatus.COMPLETED


async def test_instance_list_and_one_instance_are_resources(
    transport: str, make_database: Callable[[], str]
) -> None:
    async with connect(transport, make_database()) as client:
        listed = [r.uri for r in (await client.list_resources()).resources]
        assert listed == ["romancy://instances"]
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["romancy://instances/{instance_id}"]

        started = answer(await client.call_tool("mcp_greet_start", {"input": "Cy"}))
        instance_id = started["instance_id"]
        await wait_status(client, "mcp_greet_status", instance_id, InstanceStatus.COMPLETED)

        contents = (await client.read_resource("romancy://instances")).contents
        listing = json.loads(contents[0].text)  # type: ignore[union-attr]
        assert [i["instance_id"] for i in listing["instances"]] == [instance_id]
        assert listing["instances"][0]["status"] == InstanceStatus.COMPLETED
        assert listing["has_more"] is False

        one = (await client.read_resource(f"romancy://instances/{instance_id}")).contents
        instance = json.loads(one[0].text)  # type: ignore[union-attr]
        assert instance["workflow_name"] == "mcp_greet"
        assert instance["input"] == "Cy"
        assert instance["output"] == "hello Cy"

        with pytest.raises(MCPError, match="workflow instance missing not found"):
            await client.read_resource("romancy://instances/missing")
        with pytest.raises(MCPError, match="unknown resource"):
            await client.read_resource("romancy://elsewhere")


async def test_bad_arguments_are_tool_errors_and_the_server_keeps_serving(
    transport: str, make_database: Callable[[], str]
) -> None:
    async with connect(transport, make_database()) as client:
        cases = {
            ("mcp_ship_order_start", '{"order_id": "A"}'): "'quantity' is a required property",
            ("mcp_ship_order_start", '{"order_id": "A", "quantity": "3"}'): (
                "argument 'quantity': '3' is not of type 'integer'"
            ),
            ("mcp_ship_order_start", '{"order_id": "A", "quantity": 1, "colour": "red"}'): (
                "Additional properties are not allowed ('colour' was unexpected)"
            ),
            ("mcp_greet_start", "{}"): "'input' is a required property",
            ("mcp_greet_status", "{}"): "'instance_id' is a required property",
            ("mcp_greet_status", '{"instance_id": 7}'): "7 is not of type 'string'",
            ("mcp_greet_status", '{"instance_id": ""}'): "should be non-empty",
            ("mcp_greet_result", '{"instance_id": "nope"}'): "workflow instance nope not found",
            ("mcp_greet_cancel", '{"instance_id": "nope"}'): "workflow instance nope not found",
            ("mcp_greet_status", json.dumps({"instance_id": "x" * 256})): "is too long",
            ("mcp_greet_status", json.dumps({"instance_id": "a\x00b"})): "NUL character",
        }
        for (tool, arguments), expected in cases.items():
            result = await client.call_tool(tool, json.loads(arguments))
            assert expected in error_text(result), (tool, arguments)

        # An instance of another workflow is refused by name, not served or cancelled.
        order = answer(
            await client.call_tool("mcp_ship_order_start", {"order_id": "B", "quantity": 1})
        )["instance_id"]
        refused = error_text(await client.call_tool("mcp_greet_cancel", {"instance_id": order}))
        assert "is an instance of workflow 'mcp_ship_order', not 'mcp_greet'" in refused
        with pytest.raises(MCPError, match="unknown tool 'mcp_nothing_start'"):
            await client.call_tool("mcp_nothing_start", {})

        # Nothing above was stored: the one instance is the order started on purpose.
        listing = (await client.read_resource("romancy://instances")).contents[0]
        instances = json.loads(listing.text)["instances"]  # type: ignore[union-attr]
        assert [i["instance_id"] for i in instances] == [order]


async def test_the_cancel_answer_is_what_the_database_holds(
    transport: str, make_database: Callable[[], str]
) -> None:
    # Cancelled right after the start, while the run may still be on its way to its
    # timer: whatever the engine manages, the answer must not claim more than is stored.
    async with connect(transport, make_database()) as client:
        for _ in range(5):
            started = answer(await client.call_tool("mcp_await_approval_start", {}))
            instance = {"instance_id": started["instance_id"]}
            cancelled = answer(await client.call_tool("mcp_await_approval_cancel", instance))
            status = answer(await client.call_tool("mcp_await_approval_status", instance))
            assert cancelled["status"] == status["status"], (cancelled, status)
            assert cancelled["success"] is (status["status"] == InstanceStatus.CANCELLED)
