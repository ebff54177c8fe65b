"""The ``romancy`` command line.

Flags may appear anywhere on the line (before or after positional arguments). Errors go
to stderr as ``Error: …`` with exit code 1; a usage mistake exits with 2.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from romancy.cli import instances, messaging, migrate, outbox, schema
from romancy.cli.options import add_database_flag
from romancy.errors import RomancyError

_COMMANDS = (migrate, instances, messaging, outbox, schema)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="romancy",
        description="Durable workflows for Python: operate a romancy / Romancy / Edda database.",
    )
    add_database_flag(parser, top_level=True)
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _COMMANDS:
        command.register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``romancy`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(asyncio.run(args.handler(args)))
    except RomancyError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
