"""``romancy replay``: check recorded instances against the workflow code about to ship.

It imports the user's module (so its workflows are defined), reads every recorded
instance of the workflow read-only, and replays each without running activities or
writing anything. Violations are listed and the exit code is 1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from romancy.cli.options import (
    add_command,
    add_database_flag,
    database_url,
    json_flag,
    print_json,
)
from romancy.errors import ConfigurationError
from romancy.testing.replay import load_histories, replay
from romancy.workflow import Workflow, get_workflow

#: Exit code when a history does not replay against the code.
VIOLATIONS_FOUND = 1


def register(subcommands: Any) -> None:
    parser = add_command(subcommands, "replay", run_replay)
    add_database_flag(parser)
    parser.add_argument("--workflow", required=True, metavar="NAME", help="workflow name")
    parser.add_argument(
        "--module",
        required=True,
        metavar="MODULE",
        help="dotted module defining the workflow (importable from the current folder)",
    )
    json_flag(parser)


def find_workflow(module_name: str, name: str) -> Workflow[Any, Any]:
    """The workflow ``name`` as ``module_name`` defines it: a module-level
    :class:`Workflow` of that name, else the one importing the module registered."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: the project's own modules
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigurationError(f"cannot import module {module_name!r}: {error}") from None
    for value in vars(module).values():
        if isinstance(value, Workflow) and value.name == name:
            return value
    found = get_workflow(name)
    if found is None:
        raise ConfigurationError(f"module {module_name!r} defines no workflow named {name!r}")
    return found


async def run_replay(args: argparse.Namespace) -> int:
    """replay recorded instances of a workflow against its current code

    Import MODULE, then replay every recorded instance of workflow NAME against the code
    it defines, without running activities or writing to the database. Exits 1
    listing the instances whose history the code no longer follows.
    """
    workflow = find_workflow(args.module, args.workflow)
    histories = await load_histories(database_url(args), args.workflow)
    report = await replay(workflow, histories, raise_on_violation=False)
    if args.json:
        data = {
            "workflow": args.workflow,
            "replayed": len(report.outcomes),
            "ok": report.ok,
            "outcomes": [
                {
                    "instance_id": o.instance_id,
                    "ended": o.ended,
                    "stopped_at": o.stopped_at,
                    "problems": list(o.problems),
                }
                for o in report.outcomes
            ],
        }
        print_json(data)
    else:
        for outcome in report.outcomes:
            print(f"{outcome.instance_id}: {'ok' if outcome.ok else 'VIOLATION'} ({outcome.ended})")
            for problem in outcome.problems:
                print(f"  {problem}")
        verdict = "all replay cleanly" if report.ok else f"{len(report.problems)} violation(s)"
        print(f"Replayed {len(report.outcomes)} instance(s) of {args.workflow!r}: {verdict}.")
    return 0 if report.ok else VIOLATIONS_FOUND
