"""Order processing: validate, reserve inventory, charge payment, ship, notify.

    python examples/demo.py                       # SQLite in a temporary directory
    python examples/demo.py --db mysql://user:pw@localhost/romancy

One order goes through five activities. Watch for the five ``[step N/5]`` lines in
order and the typed ``result:`` (an ``OrderResult`` dataclass, rebuilt from the JSON
stored in the database). Reserving inventory and charging the card register
compensations (releasing the stock, refunding the charge); they would run, in reverse
order, if a later step failed — see saga.py for that path.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from dataclasses import dataclass

import romancy
from romancy import WorkflowContext


@dataclass
class Order:
    order_id: str
    customer_id: str
    items: dict[str, int]  # product -> quantity
    amount: float


@dataclass
class OrderResult:
    order_id: str
    reservation_id: str
    transaction_id: str
    tracking_number: str


@romancy.activity
async def validate_order(ctx: WorkflowContext, order: Order) -> None:
    print(f"  [step 1/5] validating {order.order_id}: {order.items}, {order.amount:.2f}")
    if order.amount <= 0 or not order.items:
        raise romancy.TerminalError(f"order {order.order_id} is empty or has no amount")


@romancy.activity
async def reserve_inventory(ctx: WorkflowContext, order: Order) -> str:
    print(f"  [step 2/5] reserving {sum(order.items.values())} items")
    return f"RES-{order.order_id}"


@reserve_inventory.compensation
async def release_inventory(ctx: WorkflowContext, order: Order) -> None:
    print(f"  [compensation] releasing the stock reserved for {order.order_id}")


@romancy.activity(retry_policy=romancy.RetryPolicy(max_attempts=5, initial_interval=0.2))
async def charge_payment(ctx: WorkflowContext, order: Order) -> str:
    print(f"  [step 3/5] charging {order.amount:.2f} to {order.customer_id}")
    return f"TX-{order.order_id}"


@charge_payment.compensation
async def refund_payment(ctx: WorkflowContext, order: Order) -> None:
    print(f"  [compensation] refunding {order.amount:.2f} to {order.customer_id}")


@romancy.activity
async def ship_order(ctx: WorkflowContext, order: Order) -> str:
    print(f"  [step 4/5] handing {order.order_id} to the carrier")
    return f"TRACK-{order.order_id}"


@romancy.activity
async def notify_customer(ctx: WorkflowContext, customer_id: str, tracking_number: str) -> None:
    print(f"  [step 5/5] telling {customer_id} the tracking number {tracking_number}")


@romancy.workflow
async def order_workflow(ctx: WorkflowContext, order: Order) -> OrderResult:
    await validate_order(ctx, order)
    reservation_id = await reserve_inventory(ctx, order)
    transaction_id = await charge_payment(ctx, order)
    tracking_number = await ship_order(ctx, order)
    await notify_customer(ctx, order.customer_id, tracking_number)
    return OrderResult(order.order_id, reservation_id, transaction_id, tracking_number)


async def run(database: str) -> None:
    async with romancy.App(database=database, service_name="demo-example") as app:
        order = Order("ORD-1001", "CUST-42", {"teapot": 1, "cup": 4}, 59.90)
        instance_id = await app.start_workflow(order_workflow, order)
        print(f"started order workflow {instance_id}")
        result: OrderResult = await app.wait_for_result(instance_id, timeout=30)
        print("result:", result)
        where = romancy.parse_database_url(database).redacted
        print(f"inspect the history with: romancy get {instance_id} --db {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    asyncio.run(run(args.db or f"sqlite:///{tempfile.mkdtemp()}/demo.db"))


if __name__ == "__main__":
    main()
