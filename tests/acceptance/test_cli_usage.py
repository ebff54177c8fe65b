"""What a newcomer types first: ``--version``, ``--help``, and mistakes on the command line.

One rule for exit codes: a mistake in what was typed exits 2 with ``Error: …`` naming it,
before any database is touched; a failure while working exits 1.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.acceptance.cli_runner import romancy

REPO = Path(__file__).resolve().parents[2]


def test_version_is_the_packages_version() -> None:
    result = romancy("--version")
    assert result.returncode == 0, result.stderr
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert result.stdout.strip() == f"romancy {version('romancy')}" == f"romancy {declared}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "--limit", "0"], "--limit must be an integer from 1 to 1000, got '0'"),
        (["list", "--limit", "abc"], "--limit must be an integer from 1 to 1000, got 'abc'"),
        (["outbox", "list", "--limit", "5000"], "--limit must be an integer from 1 to 1000"),
        (["list", "--page-token", "garbage"], "malformed page token 'garbage'"),
        (["list", "--db", ""], "--db must not be empty"),
        (["get", "x", "--db", "oracle://u:secret@h/db"], "unknown database URL scheme 'oracle'"),
        (["migrate", "sideways"], "migrate: unknown action 'sideways'; choose from up, status"),
        (["list", "--status", "bogus"], "unknown status 'bogus'; valid statuses: running,"),
        (["frobnicate"], "unknown command 'frobnicate'; choose from migrate,"),
        (["list", "--nope"], "unrecognized arguments: --nope"),
    ],
)
def test_usage_mistakes_exit_2_with_one_clear_line(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = romancy(*args, cwd=str(tmp_path))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith("Error: ") and message in first, result.stderr
    assert "argument action" not in result.stderr and "secret" not in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # no romancy.db appeared


def test_status_list_names_every_accepted_spelling(tmp_path: Path) -> None:
    result = romancy("list", "--status", "bogus", cwd=str(tmp_path))
    for status in (
        "running",
        "waiting_for_event",
        "waiting_for_timer",
        "waiting_for_message",
        "completed",
        "failed",
        "cancelled",
        "compensating",
        "recurred",
        "waiting",
        "canceled",
    ):
        assert re.search(rf"\b{status}\b", result.stderr), status


def test_http_commands_offer_no_database_flag() -> None:
    for command in ("event", "cancel"):
        result = romancy(command, "--help")
        assert result.returncode == 0
        assert "--db" not in result.stdout and "--url" in result.stdout
    cancel = romancy("cancel", "--help").stdout
    assert "running App" in cancel and "cancellation hooks" in cancel
    refused = romancy("cancel", "some-id", "--db", "x.db")
    assert refused.returncode == 2 and "unrecognized arguments: --db" in refused.stderr


def test_top_level_help_names_every_command_and_the_database() -> None:
    result = romancy("--help")
    assert result.returncode == 0
    for command in ("migrate", "list", "get", "event", "cancel", "publish", "outbox", "schema"):
        assert re.search(rf"^\s+{command}\s+\S", result.stdout, re.M), command
    assert "--version" in result.stdout and "ROMANCY_DATABASE" in result.stdout
