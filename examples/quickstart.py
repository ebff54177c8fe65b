"""A durable order workflow on an embedded SQLite file.

    python examples/quickstart.py            # start a new order and wait for it
    python examples/quickstart.py --resume   # just run the worker (finish what is pending)
    python examples/quickstart.py --db postgresql://user:pw@localhost/romancy

Kill it (Ctrl-C) while the order sleeps, run it again with --resume: the workflow
continues from its history; the steps that already ran are not run again.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

import romancy
from romancy import WorkflowContext

DATABASE = "sqlite:///quickstart.db"


@dataclass
class Order:
    order_id: str
    items: list[str]
    amount: float


@romancy.activity
async def reserve_stock(ctx: WorkflowContext, order: Order) -> str:
    print(f"  reserving {', '.join(order.items)} for {order.order_id}")
    return f"reservation-{order.order_id}"


@reserve_stock.compensation
async def release_stock(ctx: WorkflowContext, order: Order) -> None:
    print(f"  compensating: releasing the stock of {order.order_id}")


@romancy.activity(retry_policy=romancy.RetryPolicy(max_attempts=5, initial_interval=0.2))
async def charge_card(ctx: WorkflowContext, order: Order) -> dict[str, float]:
    print(f"  charging {order.amount:.2f}")
    return {"charged": order.amount}


@romancy.workflow
async def place_order(ctx: WorkflowContext, order: Order) -> dict[str, object]:
    reservation = await reserve_stock(ctx, order)
    if not ctx.is_replaying:  # workflow code re-runs on replay; activities do not
        print("  waiting 3 s for the warehouse (a durable timer: try Ctrl-C now)")
    await romancy.sleep(ctx, timedelta(seconds=3))
    payment = await charge_card(ctx, order)
    return {"order": order.order_id, "reservation": reservation, **payment}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resume", action="store_true", help="only finish pending workflows")
    parser.add_argument("--db", default=DATABASE, help="database URL (default: %(default)s)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    async with romancy.App(
        database=args.db, service_name="quickstart", timer_check_interval=1
    ) as app:
        if args.resume:
            pending = await app.find_instances_with_options(workflow_name="place_order")
            for instance in pending.instances:
                if instance.status not in ("completed", "failed", "cancelled"):
                    print(f"finishing {instance.instance_id} ({instance.status})")
                    print("result:", await app.wait_for_result(instance.instance_id, timeout=60))
            return
        order = Order("o-1001", ["teapot", "cups"], 42.5)
        instance_id = await app.start_workflow(place_order, order)
        where = romancy.parse_database_url(args.db).redacted
        print(f"started workflow {instance_id} in {where}")
        result = await app.wait_for_result(instance_id, timeout=60)
        print("result:", result)
        print(f"inspect it with: romancy get {instance_id} --db {where}")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("\ninterrupted; the order is safe in quickstart.db: run again with --resume")
