"""Version 2 of the order workflow: it bills before sleeping, which histories recorded by
version 1 do not follow. Left unregistered (version 1 holds the name in this process);
``romancy replay --module`` finds it as a module-level workflow."""

from __future__ import annotations

from datetime import timedelta

import romancy
from romancy import WorkflowContext
from romancy.workflow import Workflow
from tests.testing.order_v1 import tk_bill, tk_reserve, tk_ship


async def _order(ctx: WorkflowContext, item: str) -> str:
    await tk_reserve(ctx, item)
    await tk_bill(ctx, item)
    await romancy.sleep(ctx, timedelta(hours=1))
    return await tk_ship(ctx, item)


ORDER_V2 = Workflow("tk_order", _order)
