"""Retry policies: a flaky call retried until it works, a hopeless one not retried at all.

    python examples/retry.py                      # SQLite in a temporary directory
    python examples/retry.py --db postgresql://user:pw@localhost/romancy

``call_flaky_api`` really raises on its first two attempts; its retry policy (3
attempts, 0.2 s apart, then 0.4 s) runs it a third time, which succeeds. Watch for
``attempt 1 fails``, ``attempt 2 fails``, ``attempt 3 succeeds`` and the ``[hook]``
lines the ``on_activity_retry`` hook prints between them.

``charge_card`` raises ``romancy.TerminalError`` (a declined card: retrying cannot
help), so despite its policy of 5 attempts it runs exactly once, and the workflow
fails: watch for ``1 attempt, not retried``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter

import romancy
from romancy import WorkflowContext
from romancy.hooks import ActivityRetryInfo

#: Attempts per call target, counted in this process so the output can show them.
ATTEMPTS: Counter[str] = Counter()


@romancy.activity(
    retry_policy=romancy.RetryPolicy(max_attempts=3, initial_interval=0.2, randomization_factor=0)
)
async def call_flaky_api(ctx: WorkflowContext, endpoint: str) -> int:
    ATTEMPTS[endpoint] += 1
    attempt = ATTEMPTS[endpoint]
    if attempt < 3:
        print(f"  [activity] {endpoint}: attempt {attempt} fails")
        raise ConnectionError(f"{endpoint}: connection reset by peer")
    print(f"  [activity] {endpoint}: attempt {attempt} succeeds")
    return 200


@romancy.activity(retry_policy=romancy.RetryPolicy(max_attempts=5, initial_interval=0.2))
async def charge_card(ctx: WorkflowContext, card: str) -> str:
    ATTEMPTS[card] += 1
    print(f"  [activity] charging card {card}: attempt {ATTEMPTS[card]}")
    raise romancy.TerminalError(f"card {card} was declined")


@romancy.workflow
async def flaky_api_workflow(ctx: WorkflowContext, endpoint: str) -> int:
    status: int = await call_flaky_api(ctx, endpoint)
    return status


@romancy.workflow
async def payment_workflow(ctx: WorkflowContext, card: str) -> str:
    receipt: str = await charge_card(ctx, card)
    return receipt


class PrintRetries(romancy.WorkflowHooks):
    """Hooks see every retry with the engine's own attempt count and next delay."""

    async def on_activity_retry(self, info: ActivityRetryInfo) -> None:
        print(
            f"  [hook] {info.activity_name} attempt {info.attempt}/{info.max_attempts} failed"
            f" ({info.error}); next try in {info.next_delay.total_seconds():.1f} s"
        )


async def run(database: str) -> None:
    async with romancy.App(
        database=database, service_name="retry-example", hooks=PrintRetries()
    ) as app:
        endpoint = "/api/v1/flaky"
        instance_id = await app.start_workflow(flaky_api_workflow, endpoint)
        print(f"started flaky_api_workflow {instance_id}")
        status = await app.wait_for_result(instance_id, timeout=30)
        print(f"flaky API answered {status} after {ATTEMPTS[endpoint]} attempts")

        card = "4000-0000-0000-0002"
        instance_id = await app.start_workflow(payment_workflow, card)
        print(f"started payment_workflow {instance_id}")
        try:
            await app.wait_for_result(instance_id, timeout=30)
        except romancy.WorkflowFailedError as failure:
            attempts = ATTEMPTS[card]
            print(f"payment failed with {failure.error_type}: {failure.error_message}")
            print(f"charge_card ran {attempts} attempt{'s' if attempts != 1 else ''}, not retried")
        else:
            raise SystemExit("the declined card should have failed the workflow")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    asyncio.run(run(args.db or f"sqlite:///{tempfile.mkdtemp()}/retry.db"))


if __name__ == "__main__":
    main()
