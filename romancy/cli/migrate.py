"""``romancy migrate up|status|down``: the dbmate-compatible migration runner."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from romancy.cli.options import (
    USAGE_ERROR,
    add_command,
    add_database_flag,
    database_url,
    json_flag,
    print_json,
)
from romancy.cli.progress import progress
from romancy.storage import MigrationRunner, Storage
from romancy.storage.census import stored_rows
from romancy.storage.reading import open_for_reading

#: What a person types at the prompt to confirm a rollback that loses data.
CONFIRMATION = "down"


def register(subcommands: Any) -> None:
    parser = add_command(subcommands, "migrate", run)
    parser.add_argument(
        "action",
        choices=["up", "status", "down"],
        metavar="ACTION",
        help="up, status or down",
    )
    add_database_flag(parser)
    parser.add_argument(
        "--migrations-dir",
        metavar="DIR",
        help="folder with sqlite/, postgresql/, mysql/ sub-folders (default: romancy's own)",
    )
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for another process's migration (default: %(default)s)",
    )
    parser.add_argument(
        "--yes", action="store_true", help="down: roll back even though data will be lost"
    )
    json_flag(parser)


async def run(args: argparse.Namespace) -> int:
    """apply, inspect or roll back schema migrations

    Apply pending migrations (up), show which are applied (status) or roll back the most
    recent one (down). The migrations are dbmate files shared with Go Romancy and
    Edda. 'down' on a database holding data asks first.
    """
    db = database_url(args)
    reading = args.action == "status"
    storage = await (open_for_reading(db) if reading else Storage.open(db, pool_size=1))
    try:
        runner = storage.migrator(args.migrations_dir, lock_timeout=args.lock_timeout)
        if args.action == "up":
            async with progress(f"Applying migrations to {db.redacted}", quiet=args.json):
                applied = await runner.up()
            lines = [f"Applied {v}" for v in applied] or [f"{db.redacted} is up to date"]
            _emit(args, {"database": db.redacted, "applied": applied}, lines)
        elif args.action == "down":
            return await _down(args, storage, runner)
        else:
            await _status(args, runner)
    finally:
        await storage.close()
    return 0


async def _down(args: argparse.Namespace, storage: Storage, runner: MigrationRunner) -> int:
    at_stake = {noun: n for noun, n in (await stored_rows(storage)).items() if n}
    if at_stake and not args.yes:
        loss = ", ".join(f"{n} {noun}" for noun, n in at_stake.items())
        warning = f"rolling back the schema of {storage.url.redacted} deletes {loss}"
        if not sys.stdin.isatty():
            print(f"Error: {warning}; pass --yes to confirm", file=sys.stderr)
            return USAGE_ERROR
        print(f"Warning: {warning}.", file=sys.stderr)
        print(f"Type '{CONFIRMATION}' to confirm: ", end="", file=sys.stderr, flush=True)
        if sys.stdin.readline().strip() != CONFIRMATION:
            print("Error: not confirmed; nothing was rolled back", file=sys.stderr)
            return 1
    async with progress(f"Rolling back {storage.url.redacted}", quiet=args.json):
        version = await runner.down()
    line = f"Rolled back {version}" if version else "Nothing to roll back"
    _emit(args, {"database": storage.url.redacted, "rolled_back": version}, [line])
    return 0


async def _status(args: argparse.Namespace, runner: MigrationRunner) -> None:
    states = await runner.status()
    pending = [s for s in states if not s.applied]
    lines = [f"[{'X' if s.applied else ' '}] {s.file_name}" for s in states]
    lines += ["", f"Applied: {len(states) - len(pending)}", f"Pending: {len(pending)}"]
    migrations = [{"version": s.version, "file": s.file_name, "applied": s.applied} for s in states]
    _emit(args, {"database": database_url(args).redacted, "migrations": migrations}, lines)


def _emit(args: argparse.Namespace, data: dict[str, Any], lines: list[str]) -> None:
    if args.json:
        print_json(data)
    else:
        print("\n".join(lines))
