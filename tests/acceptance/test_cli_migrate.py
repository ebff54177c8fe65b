"""``romancy migrate`` as a user runs it: a separate process, flags anywhere."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable


def romancy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "romancy", *args], capture_output=True, text=True, timeout=120
    )


def test_status_up_down(make_database: Callable[[], str]) -> None:
    url = make_database()
    status = romancy("migrate", "status", "--db", url)
    assert status.returncode == 0, status.stderr
    assert "[ ] 20251217000000_initial_schema.sql" in status.stdout
    assert "Pending: 1" in status.stdout

    up = romancy("--db", url, "migrate", "up")  # --db before the subcommand works too
    assert (up.returncode, up.stdout.strip()) == (0, "Applied 20251217000000")
    again = romancy("migrate", "up", "--db", url)
    assert again.returncode == 0 and "is up to date" in again.stdout
    assert "[X] 20251217000000" in romancy("migrate", "status", "--db", url).stdout

    down = romancy("migrate", "down", "--db", url)
    assert (down.returncode, down.stdout.strip()) == (0, "Rolled back 20251217000000")


def test_errors_are_one_line_and_exit_1() -> None:
    bad = romancy("migrate", "up", "--db", "oracle://scott:tiger@db/orcl")
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error: unknown database URL scheme 'oracle'")
    assert "tiger" not in bad.stderr
    unreachable = romancy("migrate", "status", "--db", "postgresql://u:p@127.0.0.1:1/x")
    assert unreachable.returncode == 1
    assert "Error: cannot connect to postgresql://u:***@127.0.0.1:1/x" in unreachable.stderr
    usage = romancy("migrate", "sideways")
    assert usage.returncode == 2
