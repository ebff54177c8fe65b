"""Human in the loop: an expense waits for a manager's approval, sent as a CloudEvent.

    python examples/booking.py                    # serve on 127.0.0.1:8083 and wait
    python examples/booking.py --auto-approve     # approve through the CLI by itself
    python examples/booking.py --db postgresql://user:pw@localhost/romancy --port 9000

The workflow validates the expense, subscribes to ``approval.response`` in direct mode
(so an event targeted at this instance reaches it), notifies the approver, and waits in
``romancy.wait_event``. Waiting costs nothing: the instance is suspended in the database
and would survive a restart. The example serves the App's HTTP endpoint and prints the
exact ``romancy event ...`` command that approves the expense; run it from another
shell (reject with ``"approved": false``). With ``--auto-approve`` the example runs that
command itself. Watch for ``Accepted by``, ``approved by manager@example.com`` and a
``result:`` with ``"status": "approved"``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta

import httpx

import romancy
from romancy import WorkflowContext
from romancy.hooks import EventWaitStartInfo

APPROVAL = "approval.response"


@dataclass
class Expense:
    expense_id: str
    employee: str
    amount: float
    description: str


@dataclass
class Approval:
    approved: bool
    approver: str
    reason: str = ""


@romancy.activity
async def validate_expense(ctx: WorkflowContext, expense: Expense) -> None:
    print(f"  validating {expense.expense_id}: {expense.amount:.2f} for {expense.description}")
    if expense.amount <= 0:
        raise romancy.TerminalError(f"invalid amount {expense.amount}")


@romancy.activity
async def notify_approver(ctx: WorkflowContext, expense: Expense) -> None:
    print(f"  notifying the approver of {expense.expense_id} (from {expense.employee})")


@romancy.activity
async def reimburse(ctx: WorkflowContext, expense: Expense) -> None:
    print(f"  reimbursing {expense.amount:.2f} to {expense.employee}")


@romancy.workflow
async def expense_approval(ctx: WorkflowContext, expense: Expense) -> dict[str, str]:
    await validate_expense(ctx, expense)
    # Before anyone can answer: `romancy event` targets this instance (romancyinstanceid),
    # and such events reach only a direct subscription.
    await romancy.subscribe(ctx, APPROVAL, romancy.ChannelMode.DIRECT)
    await notify_approver(ctx, expense)
    event = await romancy.wait_event(ctx, APPROVAL, type=Approval, timeout=timedelta(days=7))
    decision = event.data
    if decision.approved:
        await reimburse(ctx, expense)
    status = "approved" if decision.approved else f"rejected ({decision.reason or 'no reason'})"
    return {"expense_id": expense.expense_id, "status": status, "by": decision.approver}


class WaitSignal(romancy.WorkflowHooks):
    """Tells ``--auto-approve`` when the workflow has started waiting for the approval."""

    def __init__(self) -> None:
        self.waiting = asyncio.Event()

    async def on_event_wait_start(self, info: EventWaitStartInfo) -> None:
        self.waiting.set()


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


async def run(database: str, port: int, auto_approve: bool) -> None:
    hooks = WaitSignal()
    app = romancy.App(database=database, service_name="booking-example", hooks=hooks)
    url = f"http://127.0.0.1:{port}"
    server = asyncio.create_task(app.serve("127.0.0.1", port))  # starts the App as well
    try:
        await wait_until_serving(url, server)
        expense = Expense("EXP-2024-17", "emp-001", 250.0, "conference travel")
        instance_id = await app.start_workflow(expense_approval, expense)
        answer = json.dumps({"approved": True, "approver": "manager@example.com"})
        command = ["romancy", "event", instance_id, APPROVAL, answer, "--url", url]
        print(f"started expense workflow {instance_id}; once it waits, approve it with:")
        print(f"  {shlex.join(command)}")
        if auto_approve:
            await hooks.waiting.wait()  # subscribed: the approval cannot be missed now
            cli = await asyncio.create_subprocess_exec(
                sys.executable, "-m", *command, stdout=asyncio.subprocess.PIPE
            )
            output, _ = await cli.communicate()
            print(output.decode(), end="")
            if cli.returncode != 0:
                raise SystemExit("romancy event failed")
        result = await app.wait_for_result(instance_id)
        print(f"{result['status']} by {result['by']}")
        print("result:", json.dumps(result))
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary directory)")
    parser.add_argument("--port", type=int, default=8083, help="HTTP port (default: 8083)")
    parser.add_argument(
        "--auto-approve", action="store_true", help="send the approval through the CLI"
    )
    args = parser.parse_args()
    database = args.db or f"sqlite:///{tempfile.mkdtemp()}/booking.db"
    try:
        asyncio.run(run(database, args.port, args.auto_approve))
    except KeyboardInterrupt:
        print(
            "\nstopped; the expense still waits in", romancy.parse_database_url(database).redacted
        )


if __name__ == "__main__":
    main()
