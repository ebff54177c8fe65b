"""``romancy outbox list`` and ``romancy outbox retry``: see the outbox, send failed events again.

The outbox table is shared, so both work on every runtime's events.
"""

from __future__ import annotations

import argparse
from typing import Any

from romancy.cli.instances import _clock, _iso, _open, _table
from romancy.cli.options import (
    add_command,
    add_database_flag,
    json_flag,
    limit_flag,
    print_json,
    value_check,
)
from romancy.storage import OutboxEntry
from romancy.storage.outbox import check_status
from romancy.storage.reading import explained as _read
from romancy.wire.status import RETRYABLE_OUTBOX_STATUSES, OutboxStatus

#: Characters of ``last_error`` shown in the table (``--json`` has all of it).
ERROR_WIDTH = 60


def register(subcommands: Any) -> None:
    outbox = subcommands.add_parser(
        "outbox",
        help="list outbox events; send failed ones again",
        description="Inspect the transactional outbox and put failed events back in the queue.",
    )
    actions = outbox.add_subparsers(dest="outbox_command", metavar="ACTION", required=True)

    lister = add_command(actions, "list", run_list)
    add_database_flag(lister)
    lister.add_argument(
        "--status",
        type=value_check(check_status),
        metavar="STATUS",
        help=f"only events in this status ({', '.join(tuple(OutboxStatus))})",
    )
    lister.add_argument("--type", dest="event_type", metavar="TYPE", help="only this event type")
    limit_flag(lister, 100, "at most N events")
    json_flag(lister)

    retry = add_command(actions, "retry", run_retry)
    add_database_flag(retry)
    retry.add_argument(
        "--status",
        type=value_check(_retryable),
        default=OutboxStatus.FAILED,
        metavar="STATUS",
        help=(
            f"reset events in this status: {', '.join(RETRYABLE_OUTBOX_STATUSES)} "
            "(default: %(default)s)"
        ),
    )
    retry.add_argument(
        "--id",
        dest="event_ids",
        action="extend",
        nargs="+",
        default=[],
        metavar="ID",
        help="only these events (repeatable); an unknown id resets nothing",
    )
    json_flag(retry)


async def run_list(args: argparse.Namespace) -> int:
    """list outbox events, newest first

    List the outbox events of every runtime, newest first.
    """
    async with _open(args) as storage:
        events = await _read(
            storage,
            lambda: storage.outbox.list_events(
                status=args.status, event_type=args.event_type, limit=args.limit
            ),
            "outbox events",
        )
    if args.json:
        print_json({"events": [_entry_json(e) for e in events]})
        return 0
    if not events:
        print("No outbox events found.")
        return 0
    rows = [
        [
            e.event_id,
            e.event_type or "-",
            e.status,
            str(e.retry_count),
            _clock(e.created_at),
            _short(e.last_error),
        ]
        for e in events
    ]
    print(_table(["EVENT ID", "TYPE", "STATUS", "RETRIES", "CREATED", "LAST ERROR"], rows))
    print()
    more = "; there may be more: raise --limit" if len(events) == args.limit else ""
    print(f"Showing {_count(len(events))}{more}")
    return 0


async def run_retry(args: argparse.Namespace) -> int:
    """put failed events back to pending so relayers send them again

    Reset events in --status (default: failed) to pending, with no attempts and no last
    error; with --id, only those events. Events being sent are never touched.
    """
    async with _open(args, writing=True) as storage:
        reset = await _read(
            storage,
            lambda: storage.outbox.retry_events(args.event_ids, status=args.status),
            "outbox events",
        )
    if args.json:
        data = {"reset": reset, "status": args.status, "event_ids": args.event_ids}
        print_json(data)
        return 0
    print(f"Reset {_count(reset)} from {args.status} to pending")
    skipped = len(set(args.event_ids)) - reset
    if args.event_ids and skipped:
        print(f"{skipped} of the given events were not {args.status} and were left alone")
    return 0


def _retryable(status: str) -> str:
    return check_status(status, allowed=RETRYABLE_OUTBOX_STATUSES)


def _count(n: int) -> str:
    return f"{n} event" if n == 1 else f"{n} events"


def _short(error: str | None) -> str:
    """The first line of ``error``, cut to the table's width."""
    lines = (error or "").strip().splitlines()
    if not lines:
        return "-"
    line = lines[0]
    return line if len(line) <= ERROR_WIDTH else line[: ERROR_WIDTH - 1] + "…"


def _entry_json(entry: OutboxEntry) -> dict[str, Any]:
    return {
        "event_id": entry.event_id,
        "event_type": entry.event_type,
        "event_source": entry.event_source,
        "content_type": entry.content_type,
        "status": entry.status,
        "retry_count": entry.retry_count,
        "last_error": entry.last_error,
        "created_at": _iso(entry.created_at),
        "published_at": _iso(entry.published_at),
    }
