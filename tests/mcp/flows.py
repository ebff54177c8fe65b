"""Workflows the MCP tests serve with ``romancy mcp --module tests.mcp.flows``: one per
input style (dataclass, TypedDict, pydantic model, plain value, none), one that waits
for an hour (something to cancel) and one that fails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from pydantic import BaseModel

import romancy


@dataclass
class Order:
    order_id: str
    quantity: int
    note: str = ""


class Refund(TypedDict):
    order_id: str
    amount: float


class Address(BaseModel):
    city: str
    zip_code: str


@romancy.workflow
async def mcp_ship_order(ctx: romancy.WorkflowContext, order: Order) -> dict[str, Any]:
    """Ship an order and answer with its receipt.

    More text that the tool description leaves out.
    """
    return {"shipped": order.order_id, "quantity": order.quantity}


@romancy.workflow
async def mcp_refund(ctx: romancy.WorkflowContext, refund: Refund) -> float:
    return refund["amount"]


@romancy.workflow
async def mcp_check_address(ctx: romancy.WorkflowContext, address: Address) -> str:
    return address.city.upper()


@romancy.workflow
async def mcp_greet(ctx: romancy.WorkflowContext, name: str) -> str:
    return f"hello {name}"


@romancy.workflow
async def mcp_await_approval(ctx: romancy.WorkflowContext) -> str:
    """Wait an hour for an approval."""
    await romancy.sleep(ctx, 3600)
    return "approved"


@romancy.workflow
async def mcp_always_fails(ctx: romancy.WorkflowContext, reason: str) -> None:
    raise romancy.TerminalError(reason)
