"""The crosstest program's contract, shared by every runtime's crosstest.

Go's ``cmd/crosstest`` flags and defaults, the usage checks, the run (logs on stderr,
one indented JSON object on stdout, exit 1 with ``Error: …`` on any failure), the
message a sender sends and the results the workflows return
(``schema/json/crosstest-output.json``). Standard library only: Edda's driver loads it
by path inside Edda's own virtual environment, where romancy is not installed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

MODES = ("subscriber", "publisher", "send-to", "event-waiter", "serve")


def build_parser(prog: str, message: str, worker_id: str) -> argparse.ArgumentParser:
    """The flags (``--name`` or ``-name``); ``message`` and ``worker_id`` are the defaults
    that differ by runtime."""
    parser = argparse.ArgumentParser(prog=prog, description="cross-language channel test")

    def flag(name: str, **kwargs: Any) -> None:
        parser.add_argument(f"--{name}", f"-{name}", **kwargs)

    flag("db", default="", help="database path or URL (required)")
    flag("channel", default="cross-test", help="channel name")
    flag("mode", default="", help="subscriber, publisher, send-to (or event-waiter, serve)")
    flag("channel-mode", default="broadcast", help="broadcast, competing or direct")
    flag("message-type", default="strict", help="strict or compatible (subscriber)")
    flag("timeout", type=int, default=30, help="receive timeout in seconds (subscriber)")
    flag("message", default=message, help="message text (publisher, send-to)")
    flag("data", default="", help="JSON object sent as data")
    flag("metadata", default="", help="JSON object sent as metadata")
    flag("target-instance", default="", help="target instance id (send-to)")
    flag("worker-id", default=worker_id, help="worker id")
    flag("event-type", default="", help="CloudEvent type (event-waiter)")
    flag("port", type=int, default=8080, help="HTTP port on 127.0.0.1 (serve)")
    flag("recur", type=int, default=0, help="recurrences after each receive (subscriber)")
    return parser


def usage_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the flags, as Go's crosstest words it; ``None`` when nothing."""
    if not args.db:
        return "--db is required"
    if args.mode not in MODES:
        return "--mode must be 'subscriber', 'publisher', or 'send-to'"
    if args.mode == "send-to" and not args.target_instance:
        return "--target-instance is required for send-to mode"
    if args.recur < 0:
        return "--recur must not be negative"
    if args.mode == "event-waiter" and not args.event_type:
        return "--event-type is required for event-waiter mode"
    return None


def run_program(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    run: Callable[[argparse.Namespace], Coroutine[Any, Any, dict[str, Any] | None]],
    quiet_logger: str,
) -> int:
    """Parse, check, run; print the result. ``quiet_logger`` logs warnings only."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger(quiet_logger).setLevel(logging.WARNING)
    args = parser.parse_args(argv)
    problem = usage_problem(args)
    if problem:
        print(f"Error: {problem}", file=sys.stderr)
        parser.print_usage(sys.stderr)
        return 1
    try:
        result = asyncio.run(run(args))
    except Exception as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    if result is not None:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def workflow_spec(args: argparse.Namespace, receive_lag: float) -> tuple[dict[str, Any], float]:
    """The input of the mode's workflow and how long to wait for its result.

    A receiving mode waits its ``--timeout`` plus ``receive_lag`` (how late the runtime
    notices a receive timeout); a sending mode waits 30 s.
    """
    if args.mode == "subscriber":
        spec = {
            "channel": args.channel,
            "timeout_seconds": args.timeout,
            "channel_mode": args.channel_mode,
            "message_type": args.message_type,
        }
        if args.recur:
            # One receive per recurrence; the chain carries what it received so far.
            spec |= {"recur": args.recur, "messages": []}
        return spec, (args.timeout + receive_lag) * (args.recur + 1)
    if args.mode == "event-waiter":
        spec = {
            "event_type": args.event_type,
            "timeout_seconds": args.timeout,
            "channel_mode": args.channel_mode,
        }
        return spec, args.timeout + receive_lag
    spec = {
        "channel": args.channel,
        "text": args.message,
        "data": json_object(args.data, "--data"),
        "metadata": json_object(args.metadata, "--metadata"),
    }
    if args.mode == "send-to":
        return {**spec, "target_instance_id": args.target_instance}, 30
    return spec, 30


def json_object(text: str, flag: str) -> dict[str, Any] | None:
    """The JSON object a ``flag`` carries; ``None`` when it is empty."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise RuntimeError(f"invalid {flag} JSON: {error}") from None
    if not isinstance(value, dict):
        raise RuntimeError(f"{flag} must be a JSON object")
    return value


#: Why a run fails when its workflow has no result within the wait of :func:`workflow_spec`.
NO_RESULT = "timeout waiting for workflow completion"


def sent_message(text: str, data: Any) -> dict[str, Any]:
    """Go's ``TestMessage``, what a publisher or send-to sends: text, the time sent
    (RFC 3339 UTC with ``Z``, as ``romancy.serialization.format_time`` writes it; this
    module cannot import romancy), data."""
    stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {"text": text, "timestamp": stamp, "data": data}


def received(message: Any, metadata: Any, messages: list[Any] | None = None) -> dict[str, Any]:
    """A receiver's result; ``messages`` is a recurring subscriber's every message."""
    result = {"received": True, "message": message, "metadata": metadata}
    return result if messages is None else {**result, "messages": messages}


def event_received(
    data: Any, event_id: str, event_type: str, source: str, extensions: Mapping[str, Any]
) -> dict[str, Any]:
    """An event-waiter's result: the event's data, its attributes as the metadata."""
    metadata = {"id": event_id, "type": event_type, "source": source, **extensions}
    return received(data, metadata)


def not_received(error: str) -> dict[str, Any]:
    """A receiver's result when nothing usable arrived; ``error`` says why."""
    return {"received": False, "error": error}


def timed_out() -> dict[str, Any]:
    """A receiver's result when its timeout passed first."""
    return not_received("timeout")


def send_result(key: str, error: str | None = None) -> dict[str, Any]:
    """A sender's result under ``key`` (``published`` or ``sent``), with the error if any."""
    return {key: True} if error is None else {key: False, "error": error}
