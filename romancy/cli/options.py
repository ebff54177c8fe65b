"""The parser every subcommand hangs on, and the flags and value checks they share.

A value the user typed is checked while the command line is parsed, so a mistake is a
usage error (exit 2) before any database is touched.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from romancy.config import DEFAULT_DATABASE
from romancy.errors import ConfigurationError, InvalidValueError
from romancy.limits import check_limit
from romancy.storage import DatabaseURL, parse_database_url

#: Exit code of a mistake on the command line (a failure while working exits 1).
USAGE_ERROR = 2


class Parser(argparse.ArgumentParser):
    """argparse, with its errors in romancy's one-line ``Error: …`` form."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("romancy").strip()
        where = f"{command}: " if command else ""
        print(f"Error: {where}{_plain(message)}", file=sys.stderr)
        print(f"Run '{self.prog} --help' for usage.", file=sys.stderr)
        raise SystemExit(USAGE_ERROR)


def _plain(message: str) -> str:
    """argparse's wording, without its internal names (``argument ACTION: …``)."""
    if not message.startswith("argument ") or ": " not in message:
        return message
    head, _, rest = message.partition(": ")
    flag = head.removeprefix("argument ")
    if rest.startswith("invalid choice: "):
        # "invalid choice: 'x' (choose from 'a', 'b')", quoting varies by Python version
        value, _, choices = rest.removeprefix("invalid choice: ").partition(" (choose from ")
        what = flag.lower() if flag.isupper() else flag
        return f"unknown {what} {value}; choose from {choices.rstrip(')').replace(chr(39), '')}"
    # argparse's own messages need the flag; our value checks name what was wrong.
    own = rest.startswith(("expected ", "invalid ", "not allowed ", "ignored "))
    return f"{flag.split('/')[0]}: {rest}" if own else rest


def add_command(
    subcommands: Any, name: str, handler: Callable[[argparse.Namespace], Awaitable[int]]
) -> argparse.ArgumentParser:
    """Register subcommand ``name``, run by ``handler``, whose docstring is its help: the
    first line in the command list, the rest as its ``--help`` description. What a
    command does is so written once, beside its code."""
    summary, _, description = (inspect.getdoc(handler) or "").partition("\n\n")
    parser: argparse.ArgumentParser = subcommands.add_parser(
        name, help=summary, description=description
    )
    parser.set_defaults(handler=handler)
    return parser


def json_flag(parser: argparse.ArgumentParser) -> None:
    """``--json``: print one JSON object instead of text."""
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def print_json(data: object) -> None:
    """Print what ``--json`` asks for: one JSON object on one line, non-ASCII as is."""
    print(json.dumps(data, ensure_ascii=False))


def value_check(check: Callable[[str], object]) -> Callable[[str], object]:
    """An argparse ``type=`` that turns a romancy value error into a usage error."""

    def parse(text: str) -> object:
        try:
            return check(text)
        except (ConfigurationError, InvalidValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = check.__name__
    return parse


def limit_flag(parser: argparse.ArgumentParser, default: int, help: str) -> None:
    """``--limit N``, 1 to 1000."""

    def page_size(text: str) -> int:
        try:
            return check_limit(int(text), "--limit")
        except (ValueError, InvalidValueError):
            raise InvalidValueError(
                f"--limit must be an integer from 1 to 1000, got {text!r}"
            ) from None

    parser.add_argument(
        "--limit",
        type=value_check(page_size),
        default=default,
        metavar="N",
        help=f"{help}, 1 to 1000 (default: %(default)s)",
    )


def add_database_flag(parser: argparse.ArgumentParser, *, top_level: bool = False) -> None:
    """``--db URL``, accepted before the subcommand as well as after it."""
    parser.add_argument(
        "--db",
        "-db",
        dest="db_top" if top_level else "db",
        type=value_check(_database),
        default=None,
        metavar="URL",
        help=(
            "database: sqlite:///file.db (or a bare file.db), postgresql://…, mysql://… "
            f"(default: $ROMANCY_DATABASE, else {DEFAULT_DATABASE})"
        ),
    )


def _database(text: str) -> DatabaseURL:
    if not text.strip():
        raise ConfigurationError("--db must not be empty")
    return parse_database_url(text)


def resolve_database(args: argparse.Namespace) -> None:
    """Settle ``args.database``: ``--db`` wherever it was written, else the environment.

    Raises :class:`ConfigurationError` for an unusable ``$ROMANCY_DATABASE``.
    """
    given = getattr(args, "db", None) or getattr(args, "db_top", None)
    if given is None:
        env = os.environ.get("ROMANCY_DATABASE")
        if env is not None and not env.strip():
            raise ConfigurationError("$ROMANCY_DATABASE is set but empty")
        given = parse_database_url(env or DEFAULT_DATABASE)
    args.database = given


def database_url(args: argparse.Namespace) -> DatabaseURL:
    """The database this command works on (settled by :func:`resolve_database`)."""
    url: DatabaseURL = args.database
    return url
