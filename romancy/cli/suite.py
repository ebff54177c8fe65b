"""``romancy crosstest`` and ``romancy conformance``: the conformance suite's commands.

Both hand the whole rest of the command line to the suite's own parser (Go's crosstest
flags; ``run``/``list`` and their flags). The installed package carries the suite as
``romancy.crosstest`` and ``romancy.conformance``; a source checkout keeps the two folders
at its top, as ``crosstest`` and ``conformance``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from romancy.errors import ConfigurationError

#: Subcommand -> (the suite's module whose ``main(argv, prog)`` runs it, its help line).
COMMANDS = {
    "crosstest": ("cli", "run romancy-py's crosstest program (Go Romancy's crosstest flags)"),
    "conformance": ("suite", "run the conformance matrix against any runtimes, or list it"),
}


def register(subcommands: Any) -> None:
    """List the commands in ``romancy --help``; :func:`dispatch` runs them."""
    for name, (_, summary) in COMMANDS.items():
        subcommands.add_parser(name, help=summary, add_help=False)


def dispatch(argv: Sequence[str]) -> int | None:
    """Run a suite command when ``argv`` names one first; None otherwise."""
    if not argv or argv[0] not in COMMANDS:
        return None
    module = suite_module(COMMANDS[argv[0]][0])
    return int(module.main(list(argv[1:]), prog=f"romancy {argv[0]}"))


def suite_module(name: str) -> ModuleType:
    """``romancy.crosstest.<name>`` when installed, ``crosstest.<name>`` in a checkout."""
    for package in ("romancy.crosstest", "crosstest"):
        try:
            return importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as error:
            if error.name not in (package, f"{package}.{name}"):
                raise
    raise ConfigurationError("the conformance suite is not installed with this romancy")
