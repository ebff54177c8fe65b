"""Workflows started by CloudEvents: one workflow per event type, fed over HTTP.

    python examples/event_handler.py              # serve on 127.0.0.1:8082 until Ctrl-C
    python examples/event_handler.py --demo       # post three events to itself, print results
    python examples/event_handler.py --db mysql://user:pw@localhost/romancy --port 9000

A workflow defined with ``event_handler=True`` and named after a CloudEvent type starts
for every event of that type the App's endpoint takes in; the event's ``data`` is its
input. Here ``user.signup`` welcomes a new user and ``order.created`` processes an
order. With ``--demo`` the example posts two signups and one order to itself with httpx
(structured mode), and prints each answer (``202`` with ``"started": 1``) and each
started workflow's result: watch for ``welcomed Alice``, ``welcomed Bob`` and
``order ORD-1 confirmed``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import tempfile
import uuid
from dataclasses import dataclass

import httpx

import romancy
from romancy import WorkflowContext


@dataclass
class Signup:
    user_id: str
    email: str
    name: str


@dataclass
class OrderCreated:
    order_id: str
    customer_id: str
    amount: float


@romancy.activity
async def send_welcome_email(ctx: WorkflowContext, user: Signup) -> None:
    print(f"  [user.signup] welcome email to {user.name} <{user.email}>")


@romancy.activity
async def create_profile(ctx: WorkflowContext, user: Signup) -> str:
    print(f"  [user.signup] profile for {user.user_id}")
    return f"profile-{user.user_id}"


@romancy.activity
async def charge_order(ctx: WorkflowContext, order: OrderCreated) -> None:
    print(f"  [order.created] charging {order.amount:.2f} to {order.customer_id}")


@romancy.activity
async def send_confirmation(ctx: WorkflowContext, order: OrderCreated) -> None:
    print(f"  [order.created] confirmation of {order.order_id} to {order.customer_id}")


@romancy.workflow(name="user.signup", event_handler=True)
async def on_user_signup(ctx: WorkflowContext, user: Signup) -> str:
    await send_welcome_email(ctx, user)
    profile = await create_profile(ctx, user)
    return f"welcomed {user.name} ({profile})"


@romancy.workflow(name="order.created", event_handler=True)
async def on_order_created(ctx: WorkflowContext, order: OrderCreated) -> str:
    await charge_order(ctx, order)
    await send_confirmation(ctx, order)
    return f"order {order.order_id} confirmed"


EVENTS = [
    ("user.signup", {"user_id": "u-1", "email": "alice@example.com", "name": "Alice"}),
    ("user.signup", {"user_id": "u-2", "email": "bob@example.com", "name": "Bob"}),
    ("order.created", {"order_id": "ORD-1", "customer_id": "u-1", "amount": 42.0}),
]


async def post_events(url: str) -> None:
    """Send each event as a structured-mode CloudEvent, as any producer would."""
    async with httpx.AsyncClient() as client:
        for event_type, data in EVENTS:
            event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "example"}
            response = await client.post(url, json={**event, "type": event_type, "data": data})
            response.raise_for_status()
            print(f"POST {event_type}: {response.status_code} {response.json()}")


async def print_results(app: romancy.App) -> None:
    for handler in (on_user_signup, on_order_created):
        page = await app.find_instances_with_options(workflow_name=handler.name)
        for instance in page.instances:
            result = await app.wait_for_result(instance.instance_id, timeout=30)
            print(f"{handler.name} {instance.instance_id}: {result}")


async def wait_until_serving(url: str, server: asyncio.Task[None]) -> None:
    async with httpx.AsyncClient() as client:
        while not server.done():
            try:
                if (await client.get(f"{url}/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            await asyncio.sleep(0.05)
    server.result()  # the server stopped: raise its error


async def run(database: str, port: int, demo: bool) -> None:
    app = romancy.App(database=database, service_name="event-handler-example")
    url = f"http://127.0.0.1:{port}"
    server = asyncio.create_task(app.serve("127.0.0.1", port))  # starts the App as well
    try:
        await wait_until_serving(url, server)
        print(f"serving {url}: events of type user.signup and order.created start workflows")
        if not demo:
            event = {"specversion": "1.0", "id": "e-1", "source": "cli", "type": "user.signup"}
            body = json.dumps(
                {**event, "data": {"user_id": "u-9", "email": "e@x.org", "name": "Eve"}}
            )
            print(f"try: curl {url}/ -H 'content-type: application/json' -d {shlex.quote(body)}")
            await server  # until Ctrl-C
            return
        await post_events(url)
        await print_results(app)
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary directory)")
    parser.add_argument("--port", type=int, default=8082, help="HTTP port (default: 8082)")
    parser.add_argument("--demo", action="store_true", help="post events to itself and exit")
    args = parser.parse_args()
    database = args.db or f"sqlite:///{tempfile.mkdtemp()}/event_handler.db"
    try:
        asyncio.run(run(database, args.port, args.demo))
    except KeyboardInterrupt:
        print("\nstopped")


if __name__ == "__main__":
    main()
