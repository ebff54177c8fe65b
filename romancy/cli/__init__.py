"""The ``romancy`` command line.

Flags may appear anywhere on the line (before or after positional arguments). A mistake
in what was typed is a usage error: ``Error: …`` on stderr, exit code 2, before any
database is touched. A failure while working (database unreachable, instance not found)
is ``Error: …`` with exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from romancy.cli import instances, mcp, messaging, migrate, outbox, replay, schema, suite
from romancy.cli.options import USAGE_ERROR, Parser, add_database_flag, resolve_database
from romancy.errors import ConfigurationError, RomancyError

_COMMANDS = (migrate, instances, messaging, outbox, schema, replay, suite, mcp)


def package_version() -> str:
    """The installed distribution's version (pyproject.toml is its one source)."""
    try:
        return version("romancy")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = Parser(
        prog="romancy",
        description=(
            "Operate a database of durable workflows shared by romancy, Go Romancy and Edda: "
            "migrate its schema, inspect instances, send events, publish messages."
        ),
        epilog="Run 'romancy COMMAND --help' for a command's own flags.",
    )
    parser.add_argument("--version", action="version", version=f"romancy {package_version()}")
    add_database_flag(parser, top_level=True)
    subcommands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, title="commands"
    )
    for command in _COMMANDS:
        command.register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``romancy`` console script; returns the exit code."""
    handed_over = suite.dispatch(sys.argv[1:] if argv is None else argv)
    if handed_over is not None:
        return handed_over
    parser = build_parser()
    args = parser.parse_args(argv)
    if hasattr(args, "db"):  # a command that works on a database
        try:
            resolve_database(args)
        except ConfigurationError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return USAGE_ERROR
    try:
        return int(asyncio.run(args.handler(args)))
    except RomancyError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
