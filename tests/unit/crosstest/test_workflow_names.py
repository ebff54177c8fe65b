"""The crosstest programs' workflow names never collide across runtimes.

Go Romancy resumes every unlocked ``running`` instance whose workflow name it has
registered, whatever runtime wrote it (docs/compat.md, "Resumption by name"). Go's
``cmd/crosstest`` registers ``crosstest_subscriber``, ``crosstest_publisher`` and
``crosstest_send_to``; if ours or the Edda driver's shared one of those names, a Go process
on the same database would take over and run their instances.
"""

from __future__ import annotations

import ast

import crosstest.cli
from crosstest.venvs import SUITE
from romancy.engine.definitions import Workflow

#: The workflows Go Romancy's cmd/crosstest registers.
GO_CROSSTEST_NAMES = {"crosstest_subscriber", "crosstest_publisher", "crosstest_send_to"}

EDDA_DRIVER = SUITE / "conformance" / "drivers" / "edda_driver.py"


def romancy_py_names() -> set[str]:
    return {v.name for v in vars(crosstest.cli).values() if isinstance(v, Workflow)}


def edda_driver_names() -> set[str]:
    """Functions decorated ``@edda.workflow`` (Edda names a workflow after its function);
    read from the source, since Edda is installed only in its own virtual environment."""
    tree = ast.parse(EDDA_DRIVER.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.AsyncFunctionDef)
        and any(ast.unparse(d) == "edda.workflow" for d in node.decorator_list)
    }


def test_each_program_names_every_workflow_with_its_prefix() -> None:
    modes = {"subscriber", "publisher", "send_to", "event_waiter"}
    for prefix, names in (("romancy_py", romancy_py_names()), ("edda", edda_driver_names())):
        assert {f"{prefix}_crosstest_{m}" for m in modes} <= names
        assert all(name.startswith(f"{prefix}_crosstest_") for name in names)


def test_the_three_programs_workflow_names_are_disjoint() -> None:
    ours, edda = romancy_py_names(), edda_driver_names()
    assert not ours & GO_CROSSTEST_NAMES
    assert not edda & GO_CROSSTEST_NAMES
    assert not ours & edda
