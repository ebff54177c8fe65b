"""The shape of the ``romancy`` package: layers, cycles, SQL reach, file size, stored words.

Read from the source with :mod:`ast` (nothing is imported), so a violation is reported
even when it would make importing the package fail.

Layers, lowest first. A module may import modules of its own layer or of a lower one;
inside a layer anything goes as long as there is no cycle. ``romancy.x`` covers the
module ``romancy.x`` and everything under it; a module that fits no row fails the test.

    layer  modules
    1      romancy.errors, romancy.limits, romancy.retry, romancy.hooks,
           romancy.serialization, romancy.jsontext, romancy.tasks,
           romancy.durations, romancy.shipped                          (base helpers)
    2      romancy.wire, romancy.storage, romancy.cloudevent,
           romancy.config      (shared shapes; config's defaults are wire values)
    3      romancy.engine
    4      romancy.workflow, romancy.activity, romancy.context, romancy.channels,
           romancy.events, romancy.timers, romancy.cloudevent_http,
           romancy.http, romancy.outbox, romancy.validation            (public API)
           romancy.otel, romancy.llm        (optional extras built on the public API)
    5      romancy.app, romancy.testing, romancy (the package facade, ``__init__.py``)
           romancy.mcp                      (an optional extra that serves an App)
    6      romancy.cli, romancy.__main__                               (entry points)

``romancy.http`` (the ASGI app) sits with the public modules: it serves anything with the
small ``Served`` interface it declares, so ``App.asgi()`` can hand it out.

``docs/architecture.md`` mirrors this table.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "romancy"

LAYERS: dict[int, tuple[str, ...]] = {
    1: (
        "romancy.errors",
        "romancy.limits",
        "romancy.retry",
        "romancy.hooks",
        "romancy.serialization",
        "romancy.jsontext",
        "romancy.tasks",
        "romancy.durations",
        "romancy.shipped",
    ),
    # config sits with wire: its defaults (the framework tag) are shared values.
    2: ("romancy.wire", "romancy.storage", "romancy.cloudevent", "romancy.config"),
    3: ("romancy.engine",),
    4: (
        "romancy.workflow",
        "romancy.activity",
        "romancy.context",
        "romancy.channels",
        "romancy.events",
        "romancy.timers",
        "romancy.cloudevent_http",
        "romancy.http",
        "romancy.hosting",
        "romancy.outbox",
        "romancy.validation",
        "romancy.otel",
        "romancy.llm",
    ),
    5: ("romancy.app", "romancy.testing", "romancy", "romancy.mcp"),
    6: ("romancy.cli", "romancy.__main__"),
}

#: Packages allowed to import SQLAlchemy: storage owns SQL; validation introspects schemas.
SQLALCHEMY_PACKAGES = ("romancy.storage", "romancy.validation")

MAX_LINES = 400

#: Instance and outbox statuses and the stored channel modes: values the peers read from
#: the shared database, so only the module defining their enums may spell them.
STATUS_WORDS = frozenset(
    {
        "running",
        "completed",
        "failed",
        "cancelled",
        "compensating",
        "recurred",
        "waiting_for_timer",
        "waiting_for_message",
        "waiting_for_event",
        "pending",
        "processing",
        "published",
        "invalid",
        "expired",
        "broadcast",
        "competing",
    }
)
STATUS_MODULE = "romancy.wire.status"


@dataclass(frozen=True)
class Module:
    """One source file of the package, parsed."""

    name: str
    path: Path
    tree: ast.Module
    lines: int

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Module]:
    """Every ``romancy/**/*.py``, by dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = _module_name(path)
        found[name] = Module(name, path, ast.parse(text, str(path)), text.count("\n"))
    return found


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    """The absolute module an ``import from`` names, relative levels resolved."""
    if node.level == 0:
        return node.module or ""
    package = module.name.split(".")
    if not module.is_package:
        package.pop()
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_names(module: Module) -> Iterator[str]:
    """Every dotted module name the module imports from, wherever the import sits."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield _absolute(module, node)


def dependencies(module: Module) -> set[str]:
    """The modules of ours that ``module`` imports (itself excluded).

    ``from romancy.x import y`` depends on ``romancy.x.y`` when that is a module, and on
    ``romancy.x``'s ``__init__`` otherwise; ``import romancy.x.y`` on ``romancy.x.y``.
    """
    known = modules()
    found = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                while name.startswith("romancy") and name not in known:
                    name = name.rpartition(".")[0]
                if name in known:
                    found.add(name)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node)
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    found.add(f"{base}.{alias.name}")
                elif base in known:
                    found.add(base)
    found.discard(module.name)
    return found


@cache
def graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports."""
    return {name: dependencies(module) for name, module in modules().items()}


def layer_of(name: str) -> int | None:
    """The layer of a module: the row whose entry is the longest prefix of its name."""
    best: tuple[int, int] | None = None
    for layer, prefixes in LAYERS.items():
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[0]
            ):
                best = (len(prefix), layer)
    return best[1] if best else None


def cycles() -> list[list[str]]:
    """One import cycle per strongly connected component (Tarjan), as a closed path."""
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [_path_within(sorted(c)[0], c, edges) for c in components]


def _path_within(start: str, component: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through ``start`` using only the component's modules (BFS)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(edges[node] & component):
                if target == start:
                    chain = [node]
                    while chain[-1] != start:
                        chain.append(previous[chain[-1]])
                    return [*reversed(chain), start]
                if target not in previous:
                    previous[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"{start} is in a component but on no cycle")


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the string constants that are docstrings."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def test_no_import_cycles() -> None:
    found = [" -> ".join(cycle) for cycle in cycles()]
    assert not found, "import cycles:\n  " + "\n  ".join(found)


def test_sqlalchemy_only_in_storage_and_validation() -> None:
    offenders = sorted(
        name
        for name, module in modules().items()
        if not any(name == p or name.startswith(p + ".") for p in SQLALCHEMY_PACKAGES)
        and any(n.split(".")[0] == "sqlalchemy" for n in imported_names(module))
    )
    assert not offenders, "sqlalchemy imported outside storage/validation:\n  " + "\n  ".join(
        offenders
    )


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(name for name in modules() if layer_of(name) is None)
    assert not unplaced, "modules in no layer (add them to LAYERS):\n  " + "\n  ".join(unplaced)


def test_modules_import_only_their_layer_or_lower() -> None:
    offenders = []
    for name, targets in sorted(graph().items()):
        own = layer_of(name)
        for target in sorted(targets):
            theirs = layer_of(target)
            if own is not None and theirs is not None and theirs > own:
                offenders.append(f"{name} (layer {own}) imports {target} (layer {theirs})")
    assert not offenders, "layer violations:\n  " + "\n  ".join(offenders)


def test_no_file_over_the_line_limit() -> None:
    offenders = sorted(
        f"{m.path.relative_to(PACKAGE.parent)}: {m.lines} lines"
        for m in modules().values()
        if m.lines > MAX_LINES
    )
    assert not offenders, f"files over {MAX_LINES} lines:\n  " + "\n  ".join(offenders)


def test_status_words_only_in_the_status_module() -> None:
    offenders = []
    for name, module in sorted(modules().items()):
        if name == STATUS_MODULE:
            continue
        skip = _docstrings(module.tree)
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in STATUS_WORDS
                and id(node) not in skip
            ):
                where = module.path.relative_to(PACKAGE.parent)
                offenders.append(f"{where}:{node.lineno}: {node.value!r}")
    assert not offenders, f"status literals outside {STATUS_MODULE}:\n  " + "\n  ".join(offenders)
