"""Version 1 of an order workflow, recorded by the replay tests."""

from __future__ import annotations

from datetime import timedelta

import romancy
from romancy import WorkflowContext


@romancy.activity
async def tk_reserve(ctx: WorkflowContext, item: str) -> str:
    return f"reserved {item}"


@romancy.activity
async def tk_bill(ctx: WorkflowContext, item: str) -> str:
    return f"billed {item}"


@romancy.activity
async def tk_ship(ctx: WorkflowContext, item: str) -> str:
    return f"shipped {item}"


@romancy.workflow(name="tk_order")
async def order(ctx: WorkflowContext, item: str) -> str:
    await tk_reserve(ctx, item)
    await romancy.sleep(ctx, timedelta(hours=1))
    return await tk_ship(ctx, item)
