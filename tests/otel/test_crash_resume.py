"""A workflow started in a process that is SIGKILLed while it waits continues its trace
when another process resumes it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid

from opentelemetry.trace import StatusCode

import romancy
from romancy import App
from romancy.storage import Storage
from romancy.wire import history as wire
from tests.support.workers import REPO, terminate

from .telemetry import Telemetry, parent_id, span_id, trace_id
from .workflows import otel_waiter


async def test_a_resumed_workflow_continues_the_first_process_trace(
    app: App, storage: Storage, telemetry: Telemetry
) -> None:
    event_type = f"otel.crash.{uuid.uuid4()}"
    first = _program(storage.url.original, event_type)
    try:
        assert first.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(first.stdout.readline), 60)
        instance_id, printed_trace_id = line.split()
        for _ in range(600):
            instance = await storage.instances.get_instance(instance_id)
            # Settled: suspended, and past the check for messages that briefly locks it.
            if instance is not None and (instance.status, instance.locked_by) == (
                "waiting_for_message",
                None,
            ):
                break
            await asyncio.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        terminate([first])
    assert instance is not None and (instance.status, instance.locked_by) == (
        "waiting_for_message",
        None,
    )

    app.register_workflow(otel_waiter)
    event = romancy.CloudEvent(id="e-1", type=event_type, source="tests", data={})
    await romancy.ingest_cloudevent(app, event)
    # The killed process may have died inside a delivery check that locks the instance
    # briefly: then the event waits for that lock's 30 s lease to run out.
    assert await app.wait_for_result(instance_id, timeout=90) == f"done {event_type}"

    (resumed,) = [s for s in telemetry.spans(instance_id) if s.name == "workflow/otel_waiter"]
    assert format(trace_id(resumed), "032x") == printed_trace_id
    # Parented to the span the workflow began with in the killed process, kept in history.
    carried = wire.carried_of(await storage.history.load_history(instance_id))
    _version, kept_trace, kept_span, _flags = carried["traceparent"].split("-")
    assert (kept_trace, int(kept_span, 16)) == (printed_trace_id, parent_id(resumed))
    assert resumed.parent is not None and resumed.parent.is_remote
    assert resumed.status.status_code == StatusCode.OK
    for name in ("replay/otel_waiter", "activity_cache_hit/otel_flaky"):
        child = telemetry.span(instance_id, name)
        assert (trace_id(child), parent_id(child)) == (trace_id(resumed), span_id(resumed))


def _program(url: str, event_type: str) -> subprocess.Popen[str]:
    """Start ``tests.otel.program``; it prints the instance id and trace id on stdout."""
    command = ["-m", "tests.otel.program", "--db", url, "--event-type", event_type]
    return subprocess.Popen([sys.executable, *command], cwd=REPO, stdout=subprocess.PIPE, text=True)
