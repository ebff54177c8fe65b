"""``romancy migrate`` as a user runs it: a separate process, flags anywhere."""

from __future__ import annotations

import json
from collections.abc import Callable

from romancy.storage import Storage
from tests.acceptance.cli_runner import romancy, romancy_on_terminal
from tests.integration.storage.helpers import new_instance


def test_status_up_down(make_database: Callable[[], str]) -> None:
    url = make_database()
    up = romancy("--db", url, "migrate", "up")  # --db before the subcommand works too
    assert (up.returncode, up.stdout.strip()) == (0, "Applied 20251217000000")
    again = romancy("migrate", "up", "--db", url)
    assert again.returncode == 0 and "is up to date" in again.stdout
    status = romancy("migrate", "status", "--db", url)
    assert status.returncode == 0, status.stderr
    assert "[X] 20251217000000_initial_schema.sql" in status.stdout
    assert "Pending: 0" in status.stdout

    down = romancy("migrate", "down", "--db", url)  # nothing stored: nothing to confirm
    assert (down.returncode, down.stdout.strip()) == (0, "Rolled back 20251217000000")
    pending = romancy("migrate", "status", "--db", url)
    assert "[ ] 20251217000000_initial_schema.sql" in pending.stdout
    assert "Pending: 1" in pending.stdout


async def _with_instances(url: str, count: int) -> None:
    storage = await Storage.open(url, pool_size=1)
    try:
        await storage.migrate()
        for _ in range(count):
            await storage.instances.create_instance(new_instance())
    finally:
        await storage.close()


async def test_down_with_data_asks_first(make_database: Callable[[], str]) -> None:
    url = make_database()
    await _with_instances(url, 3)

    refused = romancy("migrate", "down", "--db", url)  # piped: no one to ask
    assert refused.returncode == 2, refused.stdout
    assert "3 workflow instances" in refused.stderr and "--yes" in refused.stderr
    assert "[X] 20251217000000" in romancy("migrate", "status", "--db", url).stdout

    declined = romancy_on_terminal("migrate", "down", "--db", url, typed="no\n")
    assert declined.returncode == 1, declined
    assert "3 workflow instances" in declined.terminal and "Type 'down'" in declined.terminal
    assert "[X] 20251217000000" in romancy("migrate", "status", "--db", url).stdout

    typed = romancy_on_terminal("migrate", "down", "--db", url, typed="down\n")
    assert (typed.returncode, typed.stdout.strip()) == (0, "Rolled back 20251217000000"), typed

    await _with_instances(url, 1)
    confirmed = romancy("migrate", "down", "--yes", "--json", "--db", url)
    assert confirmed.returncode == 0, confirmed.stderr
    assert json.loads(confirmed.stdout)["rolled_back"] == "20251217000000"


def test_progress_only_on_a_terminal(make_database: Callable[[], str]) -> None:
    url = make_database()
    shown = romancy_on_terminal("migrate", "up", "--db", url)
    assert shown.returncode == 0, shown
    assert "Applying migrations" in shown.terminal
    assert shown.stdout.strip() == "Applied 20251217000000"
    for args in (["schema", "validate"], ["schema", "validate", "--json"]):
        run = romancy_on_terminal(*args, "--db", url)
        assert ("Validating" in run.terminal) is ("--json" not in args), run
    piped = romancy("schema", "validate", "--db", url)
    assert piped.returncode == 0, piped.stdout
    assert "Validating" not in piped.stderr + piped.stdout


def test_errors_are_one_line() -> None:
    bad = romancy("migrate", "up", "--db", "oracle://scott:tiger@db/orcl")
    assert bad.returncode == 2  # the URL as typed is wrong: a usage error
    assert bad.stderr.startswith("Error: migrate: unknown database URL scheme 'oracle'")
    assert "tiger" not in bad.stderr
    unreachable = romancy("migrate", "status", "--db", "postgresql://u:p@127.0.0.1:1/x")
    assert unreachable.returncode == 1
    assert "Error: cannot connect to postgresql://u:***@127.0.0.1:1/x" in unreachable.stderr
    usage = romancy("migrate", "sideways")
    assert usage.returncode == 2
