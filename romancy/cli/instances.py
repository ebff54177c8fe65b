"""``romancy list`` and ``romancy get``: inspect the workflow instances in a database.

Both read the shared schema, so they show what Go Romancy (framework ``go``), Edda
(``python``) and romancy (``romancy-py``) wrote; ``list --framework`` narrows.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from romancy.cli.options import (
    add_command,
    add_database_flag,
    database_url,
    json_flag,
    limit_flag,
    print_json,
    value_check,
)
from romancy.errors import InvalidValueError, WorkflowNotFoundError
from romancy.serialization import format_time
from romancy.storage import HistoryRecord, InstancePage, InstanceQuery, InstanceRecord, Storage
from romancy.storage.reading import explained as _read
from romancy.storage.reading import open_for_reading
from romancy.storage.records import decode_page_token, encode_page_token
from romancy.wire.status import InstanceStatus

_WAITING = (
    InstanceStatus.WAITING_FOR_EVENT,
    InstanceStatus.WAITING_FOR_TIMER,
    InstanceStatus.WAITING_FOR_MESSAGE,
)

#: What ``--status`` accepts (in any case): every status the runtimes write, plus the
#: spellings of Go Romancy's CLI. ``waiting`` means any of the three waiting statuses.
STATUS_ALIASES: dict[str, tuple[InstanceStatus, ...]] = {
    **{status.value: (status,) for status in InstanceStatus},
    "waiting": _WAITING,
    "waiting_event": (InstanceStatus.WAITING_FOR_EVENT,),
    "waiting_timer": (InstanceStatus.WAITING_FOR_TIMER,),
    "waiting_message": (InstanceStatus.WAITING_FOR_MESSAGE,),
    "canceled": (InstanceStatus.CANCELLED,),
}


def parse_status(text: str) -> tuple[InstanceStatus, ...]:
    """The stored statuses a user's ``--status`` spelling stands for."""
    statuses = STATUS_ALIASES.get(text.strip().lower())
    if statuses is None:
        raise InvalidValueError(
            f"unknown status {text!r}; valid statuses: {', '.join(STATUS_ALIASES)}"
        )
    return statuses


def _page_token(text: str) -> str:
    decode_page_token(text)  # refuses a malformed token now, as a usage error
    return text


def register(subcommands: Any) -> None:
    lister = add_command(subcommands, "list", run_list)
    add_database_flag(lister)
    lister.add_argument(
        "--framework", metavar="NAME", help="only this framework's instances (go, python, …)"
    )
    lister.add_argument(
        "--status",
        metavar="STATUS",
        type=value_check(parse_status),
        help="only instances in this status: running, waiting (any of the next three), "
        "waiting_for_event, waiting_for_timer, waiting_for_message, completed, failed, "
        "cancelled (or canceled), compensating, recurred",
    )
    lister.add_argument("--workflow", metavar="NAME", help="only instances of this workflow")
    limit_flag(lister, 50, "instances per page")
    lister.add_argument(
        "--page-token",
        type=value_check(_page_token),
        metavar="TOKEN",
        help="continue after a previous page (it prints the token)",
    )
    json_flag(lister)

    getter = add_command(subcommands, "get", run_get)
    getter.add_argument("instance_id", metavar="INSTANCE_ID")
    add_database_flag(getter)
    json_flag(getter)


# --------------------------------------------------------------------------- list


async def run_list(args: argparse.Namespace) -> int:
    """list workflow instances (of every framework by default)

    List the workflow instances in the database, newest first, whichever runtime wrote
    them (Go Romancy 'go', Edda 'python', romancy 'romancy-py').
    """
    query = InstanceQuery(
        framework=args.framework or None,
        workflow_name=args.workflow or None,
        limit=args.limit,
        page_token=args.page_token or None,
    )
    async with _open(args) as storage:
        page = await _read(storage, lambda: _list(storage, query, args.status or (None,)))
    if args.json:
        data = {
            "instances": [i.summary() for i in page.instances],
            "next_page_token": page.next_page_token,
            "has_more": page.has_more,
        }
        print_json(data)
        return 0
    if not page.instances:
        print("No workflow instances found.")
        return 0
    rows = [
        [i.instance_id, i.workflow_name, i.framework, i.status, _clock(i.updated_at)]
        for i in page.instances
    ]
    print(_table(["INSTANCE ID", "WORKFLOW", "FRAMEWORK", "STATUS", "UPDATED"], rows))
    print()
    shown = len(page.instances)
    summary = f"Showing {shown} instance{'' if shown == 1 else 's'}"
    if page.has_more and page.next_page_token:
        summary += f"; more: run again with --page-token '{page.next_page_token}'"
    print(summary)
    return 0


async def _list(
    storage: Storage, query: InstanceQuery, statuses: Sequence[str | None]
) -> InstancePage:
    """One page of instances in any of ``statuses``: a page per status, merged.

    Pages are keyed by (started_at, instance_id), whatever the status, so the merged
    page's last row continues all of them alike.
    """
    if len(statuses) == 1:
        return await storage.instances.list_instances(replace(query, status=statuses[0]))
    pages = [await storage.instances.list_instances(replace(query, status=s)) for s in statuses]
    merged = sorted(
        (i for page in pages for i in page.instances),
        key=lambda i: (i.started_at, i.instance_id),
        reverse=True,
    )
    rows = merged[: query.limit]
    more = len(merged) > query.limit or any(page.has_more for page in pages)
    token = encode_page_token(rows[-1].started_at, rows[-1].instance_id) if more else None
    return InstancePage(rows, token, more)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[col]) for row in [header, *rows]) for col in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


# ---------------------------------------------------------------------------- get


async def run_get(args: argparse.Namespace) -> int:
    """show one workflow instance with its input, output and history

    Show one workflow instance with its input, output and history.
    """
    async with _open(args) as storage:
        instance = await _read(storage, lambda: storage.instances.get_instance(args.instance_id))
        if instance is None:
            raise WorkflowNotFoundError(args.instance_id)
        history = await _read(storage, lambda: storage.history.load_history(args.instance_id))
    if args.json:
        data = instance.details() | {
            "source_hash": instance.source_hash,
            "continued_from": instance.continued_from,
            "locked_by": instance.locked_by,
            "locked_at": _iso(instance.locked_at),
            "lock_expires_at": _iso(instance.lock_expires_at),
            "history": [event.export() for event in history],
        }
        print_json(data)
        return 0
    print("\n".join(_describe(instance, history)))
    return 0


def _describe(instance: InstanceRecord, history: list[HistoryRecord]) -> list[str]:
    fields = [
        ("Instance ID", instance.instance_id),
        ("Workflow", instance.workflow_name),
        ("Framework", instance.framework),
        ("Status", instance.status),
        ("Current activity", instance.current_activity_id or "-"),
        ("Started", f"{_clock(instance.started_at)} UTC"),
        ("Updated", f"{_clock(instance.updated_at)} UTC"),
    ]
    if instance.locked_by:
        fields.append(("Locked by", instance.locked_by))
        if instance.locked_at is not None:
            fields.append(("Locked at", f"{_clock(instance.locked_at)} UTC"))
    fields.append(("Owner service", instance.owner_service or "-"))
    width = max(len(label) for label, _ in fields) + 1
    lines = [f"{label + ':':<{width}} {value}" for label, value in fields]
    lines += ["", "Input:", *_pretty(instance.input_data)]
    lines += ["", "Output:", *_pretty(instance.output_data)]
    lines += ["", "History:"]
    if not history:
        lines.append("  (no history)")
    for number, event in enumerate(history, 1):
        when = event.created_at.astimezone(UTC).strftime("%H:%M:%S")
        lines.append(f"  {number}. [{when}] {event.event_type} - {event.activity_id}")
        lines += [f"       {line}" for line in _event_text(event)]
    return lines


def _pretty(text: str | None) -> list[str]:
    """Indented JSON, or the raw text when it is not JSON."""
    if text is None or text == "":
        return ["(none)"]
    return _json_lines(text, indent=2)


def _event_text(event: HistoryRecord) -> list[str]:
    """A history row's data: compact JSON, raw text or ``<N bytes>``."""
    if event.is_binary:
        return [f"<{len(event.event_data_binary or b'')} bytes>"]
    if not event.event_data:
        return []
    return _json_lines(event.event_data, indent=None)


def _json_lines(text: str, indent: int | None) -> list[str]:
    """``text`` as JSON lines; an object's multi-line strings (a failure's stack trace)
    follow it as indented lines under their key, instead of one escaped line."""
    try:
        value = json.loads(text)
    except ValueError:
        return text.splitlines()
    blocks: dict[str, str] = {}
    if isinstance(value, dict):
        blocks = {k: v for k, v in value.items() if isinstance(v, str) and "\n" in v}
        value = {k: v for k, v in value.items() if k not in blocks}
    lines = json.dumps(value, indent=indent, ensure_ascii=False).splitlines()
    for key, block in blocks.items():
        lines.append(f"  {key}:")
        lines += [f"    {line}" for line in block.rstrip("\n").splitlines()]
    return lines


# ------------------------------------------------------------------------ helpers


@asynccontextmanager
async def _open(args: argparse.Namespace, *, writing: bool = False) -> AsyncIterator[Storage]:
    """The database of ``args``: read-only unless ``writing`` (see storage/reading.py)."""
    db = database_url(args)
    storage = await (Storage.open(db, pool_size=1) if writing else open_for_reading(db))
    try:
        yield storage
    finally:
        await storage.close()


def _clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _iso(moment: datetime | None) -> str | None:
    return format_time(moment) if moment is not None else None
