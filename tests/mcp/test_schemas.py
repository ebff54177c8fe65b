"""Tool schemas derived from typed workflow inputs, and arguments checked against them
before anything is stored (no database: the App is never started here)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Optional

import jsonschema
import pytest
from mcp import Client

import romancy
from romancy import App, ConfigurationError, InvalidValueError
from romancy.mcp import Server

from .support import error_text


class Priority(enum.Enum):
    LOW = "low"
    HIGH = "high"


@dataclass
class Part:
    sku: str
    children: list[Part] = field(default_factory=list)


@dataclass
class Shipment:
    parts: list[Part]
    priority: Priority
    due: datetime
    carrier: Literal["dhl", "ups"] = "dhl"
    labels: dict[str, int] = field(default_factory=dict)
    size: tuple[int, int] | None = None


@romancy.workflow
async def mcp_schema_shipment(ctx: romancy.WorkflowContext, shipment: Shipment) -> str:
    return shipment.priority.value


@romancy.workflow
async def mcp_schema_count(ctx: romancy.WorkflowContext, count: Optional[int]) -> int:  # noqa: UP045 - the spelling under test
    return count or 0


@romancy.workflow
async def mcp_schema_anything(ctx: romancy.WorkflowContext, data):  # type: ignore[no-untyped-def]
    return data


def served(*workflows: romancy.Workflow[Any, Any]) -> Server:
    server = Server(App(database="sqlite:///:memory:"))
    server.register_workflows(workflows)
    return server


async def schemas(server: Server) -> dict[str, dict[str, Any]]:
    async with Client(server.mcp_server) as client:
        return {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}


async def test_schemas_describe_what_the_input_decoder_accepts() -> None:
    found = await schemas(served(mcp_schema_shipment, mcp_schema_count, mcp_schema_anything))

    shipment = found["mcp_schema_shipment_start"]
    jsonschema.Draft202012Validator.check_schema(shipment)
    assert shipment["required"] == ["parts", "priority", "due"]
    properties = shipment["properties"]
    assert properties["priority"] == {"enum": ["low", "high"]}
    assert properties["due"] == {"type": "string", "format": "date-time"}
    assert properties["carrier"] == {"enum": ["dhl", "ups"]}
    assert properties["labels"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert properties["size"]["anyOf"][0]["prefixItems"] == [{"type": "integer"}] * 2
    # A recursive dataclass is described once, by reference.
    assert properties["parts"] == {"type": "array", "items": {"$ref": "#/$defs/Part"}}
    assert shipment["$defs"]["Part"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Part"}
    valid = {
        "parts": [{"sku": "a", "children": [{"sku": "b"}]}],
        "priority": "high",
        "due": "2030-01-01T00:00:00Z",
        "size": [2, 3],
    }
    jsonschema.validate(valid, shipment)

    # Optional input may be left out; an unannotated one takes any JSON.
    count = found["mcp_schema_count_start"]
    assert "required" not in count
    assert count["properties"]["input"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    anything = found["mcp_schema_anything_start"]
    assert "required" not in anything
    assert set(anything["properties"]["input"]) == {"description"}


async def test_arguments_are_checked_and_decoded_before_the_database() -> None:
    server = served(mcp_schema_shipment)
    valid = {"parts": [{"sku": "a"}], "priority": "low", "due": "2030-01-01T00:00:00Z"}
    async with Client(server.mcp_server) as client:
        wrong = {**valid, "parts": [{"sku": "a", "children": [{"sku": 5}]}]}
        result = await client.call_tool("mcp_schema_shipment_start", wrong)
        assert error_text(result) == "argument 'parts.0.children.0.sku': 5 is not of type 'string'"
        result = await client.call_tool("mcp_schema_shipment_start", {**valid, "priority": "x"})
        assert "argument 'priority': 'x' is not one of ['low', 'high']" in error_text(result)
        # The schema cannot say a time must parse; the decoder does, naming the input.
        result = await client.call_tool("mcp_schema_shipment_start", {**valid, "due": "soon"})
        assert "input of workflow 'mcp_schema_shipment'" in error_text(result)
        # Valid arguments get as far as the App, which is not running here.
        result = await client.call_tool("mcp_schema_shipment_start", valid)
        assert "the App is not started" in error_text(result)
        status = await client.call_tool("mcp_schema_shipment_status", {"instance_id": "x"})
        assert "the App is not started" in error_text(status)


async def test_workflow_names_that_are_not_tool_names_need_a_prefix() -> None:
    async def body(ctx: romancy.WorkflowContext) -> None:
        return None

    spaced = romancy.define_workflow("mcp schema: spaced", body)
    server = Server(App(database="sqlite:///:memory:"))
    with pytest.raises(InvalidValueError, match="pass prefix= to register_workflow"):
        server.register_workflow(spaced)
    assert server.register_workflow(spaced, prefix="spaced", description="Does nothing.") == [
        "spaced_start",
        "spaced_status",
        "spaced_result",
        "spaced_cancel",
    ]
    with pytest.raises(ConfigurationError, match="already served"):
        server.register_workflow(mcp_schema_count, prefix="spaced")
    with pytest.raises(InvalidValueError, match="not a valid MCP tool name"):
        server.register_workflow(mcp_schema_count, prefix="x" * 122)
    found = await schemas(server)
    assert list(found) == ["spaced_start", "spaced_status", "spaced_result", "spaced_cancel"]
    async with Client(server.mcp_server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert "Does nothing." in (tools["spaced_start"].description or "")
