"""Each runtime's CLI (``get``, ``list``) shows the other runtime's instances as stored:
their statuses and their times."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from romancy.serialization import as_utc, parse_time
from romancy.wire.status import InstanceStatus

from .. import _case

if TYPE_CHECKING:
    from crosstest.runtimes import Runtime

TITLE = "every runtime's CLI shows the other's instances"
SENDER_MODES = ("publisher", "subscriber")
RECEIVER_MODES = ("cli",)

#: Go's ``list`` cuts ids to 38 characters ("…" included); this prefix survives it.
LIST_ID_PREFIX = 35


async def run(cell: _case.Cell) -> str:
    channel = cell.channel("cli")
    waiting = await cell.listen(
        "waiting subscriber", runtime=cell.sender, channel=channel, timeout=60
    )
    (waiting_id,) = await cell.until_waiting([waiting])
    publisher = await cell.launch(
        cell.sender, "publisher", mode="publisher", channel=cell.channel("cli-elsewhere")
    )
    done_id = await publisher.instance_id()
    await cell.sent(publisher)
    expected: dict[str, str] = {
        waiting_id: InstanceStatus.WAITING_FOR_MESSAGE,
        done_id: InstanceStatus.COMPLETED,
    }

    cli = cell.receiver
    problems = await _listed(cell, cli, expected) + await _shown(cell, cli, expected)
    # Let the waiting subscriber finish, so the cell leaves no instance waiting.
    await cell.publish(channel, label="closing publisher")
    await cell.received(waiting)
    cell.expect(not problems, "; ".join(problems))
    return f"{cli.name}'s CLI lists and shows {len(expected)} {cell.sender.name} instances"


async def _listed(cell: _case.Cell, cli: Runtime, expected: dict[str, str]) -> list[str]:
    """What ``list`` gets wrong about the instances."""
    args = ["list", "--db", "{db}"] + (["--json", "--limit", "1000"] if cli.cli_json else [])
    code, out, err = await cell.run_cli(cli, *args)
    if code != 0:
        return [f"{cli.name} CLI `list` exited {code}: {(err or out).strip()[-300:]}"]
    if not cli.cli_json:
        missing = [i for i in expected if i[:LIST_ID_PREFIX] not in out]
        return _omitted(cell, cli, missing)
    rows = {row["instance_id"]: row for row in json.loads(out)["instances"]}
    missing = [i for i in expected if i not in rows]
    problems = _omitted(cell, cli, missing)
    for instance_id in set(expected) - set(missing):
        problems += await _compare(cell, cli, "list", rows[instance_id], expected[instance_id])
    return problems


def _omitted(cell: _case.Cell, cli: Runtime, missing: list[str]) -> list[str]:
    if not missing:
        return []
    return [
        f"{cli.name} CLI `list` omits {cell.sender.name}'s instances "
        f"(framework {cell.sender.framework!r}): {', '.join(missing)}"
    ]


async def _shown(cell: _case.Cell, cli: Runtime, expected: dict[str, str]) -> list[str]:
    """What ``get ID --db URL`` gets wrong about each instance."""
    problems = []
    for instance_id, status in expected.items():
        json_flag = ["--json"] if cli.cli_json else []
        code, out, err = await cell.run_cli(cli, "get", instance_id, "--db", "{db}", *json_flag)
        if code != 0:
            problems.append(
                f"{cli.name} CLI `get ID --db URL` does not find {cell.sender.name}'s instance "
                f"{instance_id} on the database --db names (exit {code}): "
                f"{(err or out).strip()[-300:]}"
            )
        elif not cli.cli_json:
            if instance_id not in out or status not in out:
                problems.append(f"{cli.name} CLI `get {instance_id}` lacks its id or {status}")
        else:
            problems += await _compare(cell, cli, "get", json.loads(out), status)
    return problems


async def _compare(
    cell: _case.Cell, cli: Runtime, command: str, shown: dict[str, Any], status: str
) -> list[str]:
    """Differences between what the CLI shows of an instance and its stored row."""
    stored = await cell.storage.instances.get_instance(shown["instance_id"])
    assert stored is not None
    wanted = {
        "status": status,
        "framework": cell.sender.framework,
        "workflow_name": stored.workflow_name,
        "started_at": _utc(stored.started_at),
        "updated_at": _utc(stored.updated_at),
    }
    seen = {
        key: _utc(parse_time(shown[key]))
        if key.endswith("_at") and shown.get(key)
        else shown.get(key)
        for key in wanted
    }
    wrong = {key: (seen[key], wanted[key]) for key in wanted if seen[key] != wanted[key]}
    if not wrong:
        return []
    said = ", ".join(f"{key} {got!r} (stored {want!r})" for key, (got, want) in wrong.items())
    return [f"{cli.name} CLI `{command}` shows {shown['instance_id']} with {said}"]


def _utc(moment: datetime) -> str:
    """A time as UTC ISO 8601, to the microsecond the database keeps."""
    return as_utc(moment).isoformat()
