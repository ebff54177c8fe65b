"""romancy-py's crosstest program: the flags, defaults, stdout JSON, stderr logs and exit
codes of Go Romancy's ``cmd/crosstest``, so one script drives either.

Modes (Go's): ``subscriber`` (subscribe + receive, with ``--timeout``), ``publisher``,
``send-to`` (``--target-instance``). Extra modes for the conformance matrix:
``event-waiter`` (``wait_event`` on ``--event-type``) and ``serve`` (the App's HTTP
endpoint on 127.0.0.1:``--port`` until terminated). ``--recur N`` makes a subscriber
recur after each receive, N times, and report every message in ``messages``.

Output: the workflow's result as 2-space-indented JSON on stdout; logs on stderr.
Exit 0 when a result is printed (including ``received: false``); 1 on a usage error or a
failure; 2 on an unknown flag. The workflows are named ``romancy_py_crosstest_*`` — Go
resumes any running instance whose name it knows, so ours must not share Go's names.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence
from typing import Any

import romancy
from romancy import WorkflowContext
from romancy.serialization import parse_time

from . import program

log = logging.getLogger("crosstest")

PREFIX = "romancy_py_crosstest"


@romancy.workflow(name=f"{PREFIX}_subscriber")
async def subscriber(ctx: WorkflowContext, spec: dict[str, Any]) -> dict[str, Any]:
    channel = spec["channel"]
    try:
        await romancy.subscribe(ctx, channel, spec.get("channel_mode") or "broadcast")
        message = await romancy.receive(ctx, channel, timeout=spec.get("timeout_seconds"))
    except romancy.ChannelMessageTimeoutError:
        return program.timed_out()
    except romancy.RomancyError as error:
        return program.not_received(str(error))
    problem = _strict_problem(message.data) if spec.get("message_type") == "strict" else None
    if problem:
        return program.not_received(problem)
    if "recur" not in spec:
        return program.received(message.data, message.metadata)
    # --recur: receive once per run, carrying what was received into the next run.
    messages = [*spec["messages"], message.data]
    if spec["recur"] > 0:
        return await romancy.recur(ctx, {**spec, "recur": spec["recur"] - 1, "messages": messages})
    return program.received(message.data, message.metadata, messages)


@romancy.workflow(name=f"{PREFIX}_event_waiter")
async def event_waiter(ctx: WorkflowContext, spec: dict[str, Any]) -> dict[str, Any]:
    try:
        if spec.get("channel_mode") == "direct":
            await romancy.subscribe(ctx, spec["event_type"], romancy.ChannelMode.DIRECT)
        event = await romancy.wait_event(
            ctx, spec["event_type"], timeout=spec.get("timeout_seconds")
        )
    except romancy.ChannelMessageTimeoutError:
        return program.timed_out()
    return program.event_received(event.data, event.id, event.type, event.source, event.extensions)


@romancy.workflow(name=f"{PREFIX}_publisher")
async def publisher(ctx: WorkflowContext, spec: dict[str, Any]) -> dict[str, Any]:
    try:
        await romancy.publish(ctx, spec["channel"], _message(spec), metadata=spec.get("metadata"))
    except romancy.RomancyError as error:
        return program.send_result("published", str(error))
    return program.send_result("published")


@romancy.workflow(name=f"{PREFIX}_send_to")
async def send_to(ctx: WorkflowContext, spec: dict[str, Any]) -> dict[str, Any]:
    try:
        await romancy.send_to(
            ctx,
            spec["target_instance_id"],
            spec["channel"],
            _message(spec),
            metadata=spec.get("metadata"),
        )
    except romancy.RomancyError as error:
        return program.send_result("sent", str(error))
    return program.send_result("sent")


def _message(spec: dict[str, Any]) -> dict[str, Any]:
    return program.sent_message(spec["text"], spec.get("data"))


def _strict_problem(data: Any) -> str | None:
    """Go's strict type demands ``text`` and an RFC 3339 ``timestamp``."""
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return "strict decode: message has no text"
    try:
        parse_time(str(data.get("timestamp")))
    except ValueError:
        return f"strict decode: timestamp {data.get('timestamp')!r} is not RFC 3339"
    return None


def main(argv: Sequence[str] | None = None, prog: str = "crosstest") -> int:
    # Go's default worker id is one fixed string; locks are re-entrant for their owner,
    # so two programs sharing an id would both run an instance. Ours is unique per process.
    parser = program.build_parser(
        prog, "Hello from Python!", f"romancy-py-crosstest-worker-{os.getpid()}"
    )
    return program.run_program(parser, argv, _run, quiet_logger="romancy")


async def _run(args: argparse.Namespace) -> dict[str, Any] | None:
    options: dict[str, Any] = {
        "worker_id": args.worker_id,
        "service_name": "romancy-py-crosstest",
        "workflow_resumption_interval": 0.2,
        "message_check_interval": 0.5,
        "timer_check_interval": 0.5,
        "leader_heartbeat_interval": 0.5,
        # Short-lived processes: a leader that dies unannounced must not stall the timers
        # and receive timeouts of every other program on the database for long.
        "leader_lease_duration": 3.0,
        "shutdown_timeout": 5,
    }
    async with romancy.App(database=args.db, **options) as app:
        if args.mode == "serve":
            log.info("serving on 127.0.0.1:%d", args.port)
            await app.serve("127.0.0.1", args.port)
            return None
        workflow, spec, wait = _workflow(args)
        log.info("Starting %s workflow...", workflow.name)
        instance_id = await app.start_workflow(workflow, spec)
        log.info("%s instance started: %s", workflow.name, instance_id)
        try:
            return await app.wait_for_result(instance_id, timeout=wait)  # type: ignore[no-any-return]
        except TimeoutError:
            raise RuntimeError(program.NO_RESULT) from None


#: How late our receive timeout is noticed, on top of ``--timeout``.
RECEIVE_LAG = 10

WORKFLOWS = {
    "subscriber": subscriber,
    "event-waiter": event_waiter,
    "send-to": send_to,
    "publisher": publisher,
}


def _workflow(args: argparse.Namespace) -> tuple[Any, dict[str, Any], float]:
    spec, wait = program.workflow_spec(args, RECEIVE_LAG)
    return WORKFLOWS[args.mode], spec, wait
