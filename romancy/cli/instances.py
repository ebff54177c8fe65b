"""``romancy list`` and ``romancy get``: inspect the workflow instances in a database.

Both read the shared schema, so they show what Go Romancy (framework ``go``), Edda
(``python``) and romancy (``romancy-py``) wrote; ``list --framework`` narrows.
"""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError

from romancy.cli.options import add_database_flag, database_url
from romancy.errors import DatabaseUnavailableError, WorkflowNotFoundError
from romancy.storage import HistoryRecord, InstanceQuery, InstanceRecord, Storage
from romancy.wire.status import InstanceStatus

_T = TypeVar("_T")

#: The status spellings Go Romancy's CLI accepts (after lower-casing), to what is stored;
#: every stored value stands for itself too.
STATUS_ALIASES: dict[str, InstanceStatus] = {
    **{status.value: status for status in InstanceStatus},
    "waiting": InstanceStatus.WAITING_FOR_EVENT,
    "waiting_event": InstanceStatus.WAITING_FOR_EVENT,
    "waiting_timer": InstanceStatus.WAITING_FOR_TIMER,
    "waiting_message": InstanceStatus.WAITING_FOR_MESSAGE,
    "canceled": InstanceStatus.CANCELLED,
}


def normalize_status(status: str) -> str:
    """The stored status a user's spelling means; unknown spellings pass through."""
    return STATUS_ALIASES.get(status.strip().lower(), status)


def register(subcommands: Any) -> None:
    lister = subcommands.add_parser(
        "list",
        help="list workflow instances (of every framework by default)",
        description=(
            "List the workflow instances in the database, newest first, whichever runtime "
            "wrote them (Go Romancy 'go', Edda 'python', romancy 'romancy-py')."
        ),
    )
    add_database_flag(lister)
    lister.add_argument(
        "--framework", metavar="NAME", help="only this framework's instances (go, python, …)"
    )
    lister.add_argument(
        "--status",
        metavar="STATUS",
        help="only instances in this status (running, waiting, waiting_timer, "
        "waiting_message, completed, failed, canceled, recurred, compensating)",
    )
    lister.add_argument("--workflow", metavar="NAME", help="only instances of this workflow")
    lister.add_argument(
        "--limit",
        type=int,
        default=50,
        metavar="N",
        help="instances per page, 1 to 1000 (default: %(default)s)",
    )
    lister.add_argument(
        "--page-token", metavar="TOKEN", help="continue after a previous page (printed by it)"
    )
    lister.add_argument("--json", action="store_true", help="print one JSON object")
    lister.set_defaults(handler=run_list)

    getter = subcommands.add_parser(
        "get",
        help="show one workflow instance with its input, output and history",
        description="Show one workflow instance with its input, output and history.",
    )
    getter.add_argument("instance_id", metavar="INSTANCE_ID")
    add_database_flag(getter)
    getter.add_argument("--json", action="store_true", help="print one JSON object")
    getter.set_defaults(handler=run_get)


# --------------------------------------------------------------------------- list


async def run_list(args: argparse.Namespace) -> int:
    query = InstanceQuery(
        framework=args.framework or None,
        status=normalize_status(args.status) if args.status else None,
        workflow_name=args.workflow or None,
        limit=args.limit,
        page_token=args.page_token or None,
    )
    async with _open(args) as storage:
        page = await _read(storage, lambda: storage.list_instances(query))
    if args.json:
        data = {
            "instances": [_instance_summary(i) for i in page.instances],
            "next_page_token": page.next_page_token,
            "has_more": page.has_more,
        }
        print(json.dumps(data, ensure_ascii=False))
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
    print(f"Total: {len(page.instances)} instances")
    if page.has_more and page.next_page_token:
        print(f"More instances: run again with --page-token '{page.next_page_token}'")
    return 0


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[col]) for row in [header, *rows]) for col in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


# ---------------------------------------------------------------------------- get


async def run_get(args: argparse.Namespace) -> int:
    async with _open(args) as storage:
        instance = await _read(storage, lambda: storage.get_instance(args.instance_id))
        if instance is None:
            raise WorkflowNotFoundError(args.instance_id)
        history = await _read(storage, lambda: storage.load_history(args.instance_id))
    if args.json:
        data = _instance_summary(instance) | {
            "source_hash": instance.source_hash,
            "continued_from": instance.continued_from,
            "locked_by": instance.locked_by,
            "locked_at": _iso(instance.locked_at),
            "lock_expires_at": _iso(instance.lock_expires_at),
            "input": _parse(instance.input_data),
            "output": _parse(instance.output_data),
            "history": [_event_json(event) for event in history],
        }
        print(json.dumps(data, ensure_ascii=False))
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
    lines += ["", "Input:", _pretty(instance.input_data)]
    lines += ["", "Output:", _pretty(instance.output_data)]
    lines += ["", "History:"]
    if not history:
        lines.append("  (no history)")
    for number, event in enumerate(history, 1):
        when = event.created_at.astimezone(UTC).strftime("%H:%M:%S")
        lines.append(f"  {number}. [{when}] {event.event_type} - {event.activity_id}")
        data = _event_text(event)
        if data is not None:
            lines.append(f"       {data}")
    return lines


def _pretty(text: str | None) -> str:
    """Indented JSON, or the raw text when it is not JSON."""
    if text is None or text == "":
        return "(none)"
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _event_text(event: HistoryRecord) -> str | None:
    """One line for a history row's data: compact JSON, raw text or ``<N bytes>``."""
    if event.data_type == "binary" or event.event_data_binary is not None:
        return f"<{len(event.event_data_binary or b'')} bytes>"
    if not event.event_data:
        return None
    try:
        return json.dumps(json.loads(event.event_data), ensure_ascii=False)
    except ValueError:
        return event.event_data


def _event_json(event: HistoryRecord) -> dict[str, Any]:
    binary = event.data_type == "binary" or event.event_data_binary is not None
    return {
        "id": event.id,
        "event_type": event.event_type,
        "activity_id": event.activity_id,
        "created_at": _iso(event.created_at),
        "data_type": "binary" if binary else "json",
        # Binary payloads travel as base64 text; JSON payloads parsed (raw text if invalid).
        "data": (
            base64.b64encode(event.event_data_binary or b"").decode("ascii")
            if binary
            else _parse(event.event_data)
        ),
    }


# ------------------------------------------------------------------------ helpers


@asynccontextmanager
async def _open(args: argparse.Namespace) -> AsyncIterator[Storage]:
    storage = await Storage.open(database_url(args), pool_size=1)
    try:
        yield storage
    finally:
        await storage.close()


async def _read(
    storage: Storage, query: Callable[[], Awaitable[_T]], what: str = "workflow instances"
) -> _T:
    """Run a query, naming the database when it fails (typically: not migrated yet)."""
    try:
        return await query()
    except DBAPIError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseUnavailableError(
            f"cannot read {what} from {storage.url.redacted}: {reason} "
            "(is the schema migrated? see `romancy migrate status`)"
        ) from None


def _instance_summary(instance: InstanceRecord) -> dict[str, Any]:
    return {
        "instance_id": instance.instance_id,
        "workflow_name": instance.workflow_name,
        "framework": instance.framework,
        "status": instance.status,
        "current_activity_id": instance.current_activity_id,
        "owner_service": instance.owner_service,
        "started_at": _iso(instance.started_at),
        "updated_at": _iso(instance.updated_at),
    }


def _parse(text: str | None) -> Any:
    """The JSON value of ``text``; the text itself when it is not JSON."""
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None
