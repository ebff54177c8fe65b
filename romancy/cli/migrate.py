"""``romancy migrate up|status|down``: the dbmate-compatible migration runner."""

from __future__ import annotations

import argparse
import json
from typing import Any

from romancy.cli.options import add_database_flag, database_url
from romancy.storage import Storage


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "migrate",
        help="apply, inspect or roll back schema migrations",
        description="Apply, inspect or roll back the shared schema's dbmate migrations.",
    )
    parser.add_argument("action", choices=["up", "status", "down"])
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
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace) -> int:
    storage = await Storage.open(database_url(args), pool_size=1)
    try:
        runner = storage.migrator(args.migrations_dir, lock_timeout=args.lock_timeout)
        where = storage.url.redacted
        if args.action == "up":
            applied = await runner.up()
            _emit(
                args,
                {"database": where, "applied": applied},
                [f"Applied {v}" for v in applied] or [f"{where} is up to date"],
            )
        elif args.action == "down":
            version = await runner.down()
            _emit(
                args,
                {"database": where, "rolled_back": version},
                [f"Rolled back {version}" if version else "Nothing to roll back"],
            )
        else:
            states = await runner.status()
            pending = [s for s in states if not s.applied]
            lines = [f"[{'X' if s.applied else ' '}] {s.file_name}" for s in states]
            lines += ["", f"Applied: {len(states) - len(pending)}", f"Pending: {len(pending)}"]
            _emit(
                args,
                {
                    "database": where,
                    "migrations": [
                        {"version": s.version, "file": s.file_name, "applied": s.applied}
                        for s in states
                    ],
                },
                lines,
            )
    finally:
        await storage.close()
    return 0


def _emit(args: argparse.Namespace, data: dict[str, Any], lines: list[str]) -> None:
    print(json.dumps(data) if args.json else "\n".join(lines))
