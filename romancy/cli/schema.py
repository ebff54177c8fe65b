"""``romancy schema validate``: a live database against the shared schema and shapes."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from romancy.cli.options import (
    add_command,
    add_database_flag,
    database_url,
    json_flag,
    print_json,
)
from romancy.cli.progress import progress
from romancy.storage.reading import open_for_reading
from romancy.validation.database import DatabaseReport, check_database


def register(subcommands: Any) -> None:
    parser = add_command(subcommands, "schema", run)
    parser.add_argument("action", choices=["validate"], metavar="ACTION", help="validate")
    add_database_flag(parser)
    json_flag(parser)


async def run(args: argparse.Namespace) -> int:
    """check a database's schema and stored JSON against the shared contract

    Compare the database's schema with the one romancy's migrations produce (built in a
    scratch schema or database on the same server, then dropped) and check every
    stored JSON value the runtimes exchange against romancy's JSON Schemas. Exit
    status 0 when clean, 1 when anything differs.
    """
    db = database_url(args)
    storage = await open_for_reading(db)
    try:
        async with progress(f"Validating {db.redacted}", quiet=args.json):
            report = await check_database(storage)
    finally:
        await storage.close()
    _emit(args, report)
    return 0 if report.clean else 1


def _emit(args: argparse.Namespace, report: DatabaseReport) -> None:
    if args.json:
        print_json(report.as_json())
        return
    for note in report.notes:
        print(f"Note: {note}", file=sys.stderr)
    print("\n".join(report.lines()))
