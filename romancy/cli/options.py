"""Flags shared by several subcommands."""

from __future__ import annotations

import argparse
import os

DEFAULT_DATABASE = "romancy.db"


def add_database_flag(parser: argparse.ArgumentParser, *, top_level: bool = False) -> None:
    """``--db URL``, accepted before the subcommand as well as after it."""
    parser.add_argument(
        "--db",
        "-db",
        dest="db_top" if top_level else "db",
        default=None,
        metavar="URL",
        help=f"database URL or SQLite path (default: $ROMANCY_DATABASE or {DEFAULT_DATABASE})",
    )


def database_url(args: argparse.Namespace) -> str:
    """The database the user asked for, wherever on the line they wrote ``--db``."""
    return str(
        getattr(args, "db", None)
        or getattr(args, "db_top", None)
        or os.environ.get("ROMANCY_DATABASE")
        or DEFAULT_DATABASE
    )
