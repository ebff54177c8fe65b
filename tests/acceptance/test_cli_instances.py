"""``romancy list`` / ``romancy get`` as a user runs them, on a database every runtime shares."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from romancy.storage import Storage, parse_database_url
from romancy.wire import history as wh
from tests.acceptance.cli_runner import romancy
from tests.integration.storage.helpers import new_instance
from tests.support.fixtures import Backend


def romancy_json(*args: str) -> Any:
    """The JSON a successful ``romancy … --json`` printed."""
    result = romancy(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@dataclass(frozen=True)
class Seeded:
    url: str
    #: instance id -> (framework, status)
    instances: dict[str, tuple[str, str]]
    order: str  # romancy-py, completed, with output and history (one row binary)
    go_cancelled: str
    edda_locked: str  # python (Edda), running, locked, no history
    go_raw_input: str  # go, failed, input that is not JSON


def _id(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def seeded(make_database: Callable[[], str]) -> Seeded:
    url = make_database()
    storage = await Storage.open(url, pool_size=1)
    try:
        await storage.migrate()
        order, waiting = _id("py-order"), _id("py-sleep")
        go_cancelled, go_raw = _id("go-cancel"), _id("go-raw")
        edda = _id("edda-run")
        await storage.instances.create_instance(
            new_instance(
                instance_id=order,
                input_data='{"order_id": "o-1", "items": [1, 2]}',
            )
        )
        await storage.history.append_history(
            order,
            "reserve:1",
            "ActivityCompleted",
            '{"activity_name": "reserve", "result": "r-9"}',
        )
        await storage.history.append_history(
            order, "charge:1", "ActivityCompleted", b"\x00\x01\x02"
        )
        await storage.instances.update_instance(
            order, status="completed", output_data='{"shipped": true}', current_activity_id=None
        )
        await storage.instances.create_instance(
            new_instance(instance_id=waiting, workflow_name="sleeper")
        )
        await storage.instances.update_instance(
            waiting, status="waiting_for_timer", current_activity_id="sleep:1"
        )
        await storage.instances.create_instance(
            new_instance(instance_id=go_cancelled, workflow_name="GoWorkflow", framework="go")
        )
        await storage.instances.update_instance(go_cancelled, status="cancelled")
        await storage.instances.create_instance(
            new_instance(
                instance_id=go_raw,
                workflow_name="GoWorkflow",
                framework="go",
                input_data="not json at all",
            )
        )
        await storage.instances.update_instance(go_raw, status="failed")
        await storage.instances.create_instance(
            new_instance(
                instance_id=edda,
                workflow_name="edda_workflow",
                framework="python",
                owner_service="edda-svc",
                locked_by="edda-worker-7",
            )
        )
    finally:
        await storage.close()
    return Seeded(
        url=url,
        instances={
            order: ("romancy-py", "completed"),
            waiting: ("romancy-py", "waiting_for_timer"),
            go_cancelled: ("go", "cancelled"),
            go_raw: ("go", "failed"),
            edda: ("python", "running"),
        },
        order=order,
        go_cancelled=go_cancelled,
        edda_locked=edda,
        go_raw_input=go_raw,
    )


def listed_ids(stdout: str) -> list[str]:
    """Instance ids of the table rows (the first cell of each line after the header)."""
    lines = stdout.splitlines()
    assert lines[0].split() == ["INSTANCE", "ID", "WORKFLOW", "FRAMEWORK", "STATUS", "UPDATED"]
    rows = []
    for line in lines[1:]:
        if not line.strip():
            break
        rows.append(line.split()[0])
    return rows


def test_list_shows_every_framework_by_default(seeded: Seeded) -> None:
    result = romancy("list", "--db", seeded.url)
    assert result.returncode == 0, result.stderr
    assert sorted(listed_ids(result.stdout)) == sorted(seeded.instances)
    for line in result.stdout.splitlines()[1:6]:
        cells = line.split()
        framework, status = seeded.instances[cells[0]]
        assert cells[2:4] == [framework, status]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", " ".join(cells[4:]))
    assert "Showing 5 instances" in result.stdout
    assert "--page-token" not in result.stdout

    before = romancy("--db", seeded.url, "list")  # --db before the subcommand
    assert (before.returncode, before.stdout) == (0, result.stdout)


def test_list_filters(seeded: Seeded) -> None:
    go = romancy("list", "--framework", "go", "--db", seeded.url)
    assert go.returncode == 0, go.stderr
    assert sorted(listed_ids(go.stdout)) == sorted(
        i for i, (framework, _) in seeded.instances.items() if framework == "go"
    )
    for spelling in ("canceled", "CANCELLED"):
        cancelled = romancy("--db", seeded.url, "list", "--status", spelling)
        assert cancelled.returncode == 0, cancelled.stderr
        assert listed_ids(cancelled.stdout) == [seeded.go_cancelled]
    timer = romancy(
        "list", "--status", "waiting_timer", "--framework", "romancy-py", "-db", seeded.url
    )
    assert [seeded.instances[i][1] for i in listed_ids(timer.stdout)] == ["waiting_for_timer"]
    by_name = romancy("list", "--workflow", "edda_workflow", "--db", seeded.url)
    assert listed_ids(by_name.stdout) == [seeded.edda_locked]
    none = romancy("list", "--db", seeded.url, "--status", "waiting", "--framework", "go")
    assert (none.returncode, none.stdout.strip()) == (0, "No workflow instances found.")


def test_paging_with_the_printed_token(seeded: Seeded) -> None:
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        args = ["list", "--limit", "2", "--db", seeded.url]
        result = romancy(*args, *(["--page-token", token] if token else []))
        assert result.returncode == 0, result.stderr
        ids = listed_ids(result.stdout)
        assert re.search(rf"^Showing {len(ids)} instances?\b", result.stdout, re.M)
        seen += ids
        pages += 1
        match = re.search(r"--page-token '([^']+)'", result.stdout)
        if match is None:
            break
        assert len(ids) == 2
        token = match.group(1)
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == set(seeded.instances)

    first = json.loads(romancy("list", "--json", "--limit", "3", "--db", seeded.url).stdout)
    assert first["has_more"] is True and len(first["instances"]) == 3
    rest = romancy(
        "list",
        "--json",
        "--db",
        seeded.url,
        "--limit",
        "3",
        "--page-token",
        first["next_page_token"],
    )
    second = json.loads(rest.stdout)
    assert second["has_more"] is False and second["next_page_token"] is None
    ids = [i["instance_id"] for i in first["instances"] + second["instances"]]
    assert sorted(ids) == sorted(seeded.instances) == sorted(set(ids))
    assert ids == seen  # the same order, newest first


def test_list_json(seeded: Seeded) -> None:
    data = romancy_json("list", "--framework", "python", "--db", seeded.url)
    assert data["has_more"] is False and data["next_page_token"] is None
    [edda] = data["instances"]
    assert edda["instance_id"] == seeded.edda_locked
    assert (edda["framework"], edda["status"], edda["workflow_name"]) == (
        "python",
        "running",
        "edda_workflow",
    )


def test_more_pages_are_announced_not_counted_as_a_total(seeded: Seeded) -> None:
    result = romancy("list", "--limit", "2", "--db", seeded.url)
    assert result.returncode == 0, result.stderr
    assert "Total" not in result.stdout
    assert re.search(
        r"^Showing 2 instances; more: run again with --page-token '", result.stdout, re.M
    )


async def test_waiting_means_every_waiting_status(seeded: Seeded) -> None:
    storage = await Storage.open(seeded.url, pool_size=1)
    try:
        for status in ("waiting_for_message", "waiting_for_event"):
            instance_id = _id(status)
            await storage.instances.create_instance(new_instance(instance_id=instance_id))
            await storage.instances.update_instance(instance_id, status=status)
    finally:
        await storage.close()
    listed = romancy("list", "--status", "waiting", "--db", seeded.url, "--json")
    assert listed.returncode == 0, listed.stderr
    statuses = sorted(i["status"] for i in json.loads(listed.stdout)["instances"])
    assert statuses == ["waiting_for_event", "waiting_for_message", "waiting_for_timer"]
    # Paging through the union loses and repeats nothing.
    first = json.loads(
        romancy("list", "--status", "waiting", "--limit", "2", "--json", "--db", seeded.url).stdout
    )
    assert first["has_more"] is True
    rest = romancy(
        "list", "--status", "WAITING", "--db", seeded.url, "--page-token", first["next_page_token"]
    )
    assert rest.returncode == 0, rest.stderr
    ids = [i["instance_id"] for i in first["instances"]] + listed_ids(rest.stdout)
    assert ids == [i["instance_id"] for i in json.loads(listed.stdout)["instances"]]
    message = romancy("list", "--status", "waiting_message", "--db", seeded.url, "--json")
    assert [i["status"] for i in json.loads(message.stdout)["instances"]] == ["waiting_for_message"]


def test_get_shows_input_output_and_history(seeded: Seeded) -> None:
    result = romancy("get", seeded.order, "--db", seeded.url)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(rf"^Instance ID: +{seeded.order}$", out, re.M)
    assert re.search(r"^Workflow: +order_workflow$", out, re.M)
    assert re.search(r"^Framework: +romancy-py$", out, re.M)
    assert re.search(r"^Status: +completed$", out, re.M)
    assert re.search(r"^Owner service: +orders$", out, re.M)
    assert re.search(r"^Started: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", out, re.M)
    assert "Locked by" not in out
    assert 'Input:\n{\n  "order_id": "o-1",\n  "items": [\n    1,\n    2\n  ]\n}' in out
    assert 'Output:\n{\n  "shipped": true\n}' in out
    assert re.search(r"^  1\. \[\d\d:\d\d:\d\d\] ActivityCompleted - reserve:1$", out, re.M)
    assert '"result": "r-9"' in out
    assert re.search(r"^  2\. \[\d\d:\d\d:\d\d\] ActivityCompleted - charge:1$", out, re.M)
    assert "<3 bytes>" in out

    before = romancy("--db", seeded.url, "get", seeded.order)
    assert (before.returncode, before.stdout) == (0, out)


def test_get_locked_instance_without_history_or_json_input(seeded: Seeded) -> None:
    edda = romancy("get", "--db", seeded.url, seeded.edda_locked)
    assert edda.returncode == 0, edda.stderr
    assert re.search(r"^Framework: +python$", edda.stdout, re.M)
    assert re.search(r"^Locked by: +edda-worker-7$", edda.stdout, re.M)
    assert re.search(r"^Locked at: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", edda.stdout, re.M)
    assert re.search(r"^Owner service: +edda-svc$", edda.stdout, re.M)
    assert "Output:\n(none)" in edda.stdout
    assert "(no history)" in edda.stdout

    raw = romancy("get", seeded.go_raw_input, "--db", seeded.url)
    assert raw.returncode == 0, raw.stderr
    assert "Input:\nnot json at all\n" in raw.stdout


def test_get_json(seeded: Seeded) -> None:
    data = romancy_json("get", seeded.order, "--db", seeded.url)
    assert data["instance_id"] == seeded.order
    assert (data["framework"], data["status"]) == ("romancy-py", "completed")
    assert data["input"] == {"order_id": "o-1", "items": [1, 2]}
    assert data["output"] == {"shipped": True}
    first, second = data["history"]
    assert (first["event_type"], first["activity_id"]) == ("ActivityCompleted", "reserve:1")
    assert first["data"] == {"activity_name": "reserve", "result": "r-9"}
    assert first["created_at"]
    assert (second["activity_id"], second["data_type"]) == ("charge:1", "binary")

    raw = romancy_json("get", seeded.go_raw_input, "--db", seeded.url)
    assert (raw["input"], raw["output"], raw["history"]) == ("not json at all", None, [])


def test_get_unknown_instance_exits_1(seeded: Seeded) -> None:
    result = romancy("get", "no-such-instance", "--db", seeded.url)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "Error: workflow instance no-such-instance not found"


async def test_get_prints_a_failure_stack_trace_as_lines(seeded: Seeded) -> None:
    trace = (
        "Traceback (most recent call last):\n"
        '  File "orders.py", line 7, in place_order\n'
        "    raise ValueError('card declined')\n"
        "ValueError: card declined\n"
    )
    storage = await Storage.open(seeded.url, pool_size=1)
    try:
        failed = wh.workflow_failed(ValueError("card declined"), trace)
        await storage.history.append_history(
            seeded.order, failed.activity_id, failed.event_type, failed.data
        )
        await storage.instances.update_instance(
            seeded.order, status="failed", output_data=failed.data
        )
    finally:
        await storage.close()
    result = romancy("get", seeded.order, "--db", seeded.url)
    assert result.returncode == 0, result.stderr
    assert "\\n" not in result.stdout  # no escaped newlines anywhere
    shown = [line.strip() for line in result.stdout.splitlines()]
    for line in trace.splitlines():  # once under Output, once in the history
        assert shown.count(line.strip()) == 2, result.stdout
    assert len(re.findall(r"^\s+stack_trace:$", result.stdout, re.M)) == 2
    assert '"error_message": "card declined"' in result.stdout
    data = json.loads(romancy("get", seeded.order, "--db", seeded.url, "--json").stdout)
    assert data["output"]["stack_trace"] == trace  # --json keeps the exact text


def test_reading_commands_never_create_a_database(backend: Backend, tmp_path: Path) -> None:
    if backend.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'nosuch.db'}"
    else:
        assert backend.server_url is not None
        url = parse_database_url(backend.server_url).with_database("rt_nosuch_db").original
    for args in (
        ["list"],
        ["get", "some-id"],
        ["migrate", "status"],
        ["schema", "validate"],
        ["outbox", "list"],
    ):
        result = romancy(*args, "--db", url)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert result.stdout == ""
        assert re.search(r"no such database|does not exist|Unknown database", result.stderr), (
            args,
            result.stderr,
        )
        assert "Traceback" not in result.stderr and "missing" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_unmigrated_database_is_one_line_error(make_database: Callable[[], str]) -> None:
    url = make_database()
    db = parse_database_url(url)
    if db.dialect == "sqlite":
        Path(db.sqlite_path or "").touch()  # an existing, empty file
    result = romancy("list", "--db", url)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: cannot read workflow instances from ")
    assert "romancy migrate" in result.stderr
    assert "Traceback" not in result.stderr
