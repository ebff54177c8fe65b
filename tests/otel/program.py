"""A worker that starts one traced workflow and then waits to be killed.

    python -m tests.otel.program --db URL --event-type TYPE

Starts ``otel_waiter`` inside a ``request`` span of its own SDK tracer provider and prints
``<instance id> <trace id (32 hex digits)>``; the workflow then waits for TYPE.
"""

from __future__ import annotations

import argparse
import asyncio

from opentelemetry.sdk.trace import TracerProvider

from romancy import App
from romancy.otel import OTelHooks
from tests.otel.workflows import otel_waiter


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--event-type", required=True)
    args = parser.parse_args()
    provider = TracerProvider()
    async with App(database=args.db, hooks=OTelHooks(tracer_provider=provider)) as app:
        with provider.get_tracer("program").start_as_current_span("request") as request:
            instance_id = await app.start_workflow(otel_waiter, args.event_type)
        print(instance_id, format(request.get_span_context().trace_id, "032x"), flush=True)
        await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main())
