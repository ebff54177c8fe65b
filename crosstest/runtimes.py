"""The runtimes a matrix cell can drive: how to launch each one's crosstest program.

* ``romancy-py``: ``python -m crosstest`` in a checkout, ``python -m romancy.crosstest``
  when installed.
* ``edda``: ``conformance/drivers/edda_driver.py crosstest`` run by a Python that has Edda
  (``ROMANCY_EDDA_VENV``, default ``.venvs/edda``).
* ``go``: the binary named by ``ROMANCY_GO_CROSSTEST``, or one built from the Go module
  ``github.com/i2y/romancy`` with our migrations supplied (the module's ``schema/`` is a
  git submodule that module downloads lack). When neither works the runtime carries the
  reason, and its cells are reported "not run".
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from romancy.storage import parse_database_url
from romancy.storage.migrations import bundled_migrations_dir
from romancy.wire import frameworks

from .venvs import SUITE, edda_venv, peer_dir

GO_MODULE = "github.com/i2y/romancy"

#: Modes of Go's ``cmd/crosstest``; ours and Edda's driver add the two HTTP-side ones
#: and ``recur`` (a subscriber's ``--recur N``).
GO_MODES = frozenset({"subscriber", "publisher", "send-to"})
ALL_MODES = GO_MODES | {"event-waiter", "serve", "recur"}
#: What a case names in its modes to need the runtime's instance-viewing CLI.
CLI = "cli"

EDDA_NO_CLI = (
    "Edda 0.16.2 ships no command that lists or shows instances: its only viewer, "
    "edda-viewer, is an interactive NiceGUI web page (extra 'viewer') a script cannot read"
)


@dataclass(frozen=True)
class Runtime:
    """One runtime's crosstest program, or the reason it cannot run here."""

    name: str
    framework: str  # what it writes to workflow_instances.framework
    command: tuple[str, ...] = ()
    unavailable: str | None = None
    modes: frozenset[str] = ALL_MODES
    database: Callable[[str], str] = field(default=lambda url: url)
    #: Why a mode is missing, when the reason is not simply that the program lacks it.
    mode_notes: Mapping[str, str] = field(default_factory=dict)
    #: The runtime's ``get``/``list`` command line (``romancy`` of Go or of us), if any.
    cli: tuple[str, ...] = ()
    #: Whether that CLI prints JSON with ``--json`` (Go's prints text only).
    cli_json: bool = False
    #: Why there is no CLI, when there is none.
    no_cli: str = ""

    def lacks(self, *modes: str) -> str | None:
        """Why this runtime cannot take part in a cell needing ``modes``, if it cannot."""
        if self.unavailable:
            return self.unavailable
        if CLI in modes and not self.cli:
            return self.no_cli or f"{self.name} has no instance-viewing CLI"
        missing = sorted(set(modes) - self.modes - {CLI})
        if not missing:
            return None
        explained = [self.mode_notes[m] for m in missing if m in self.mode_notes]
        return "; ".join(explained) or f"{self.name}'s crosstest has no {', '.join(missing)} mode"


#: ``crosstest`` in a checkout, ``romancy.crosstest`` when installed.
PACKAGE = __package__ or "crosstest"
#: Our ``romancy`` command, run by this interpreter.
ROMANCY_CLI = (sys.executable, "-m", "romancy")


def romancy_py() -> Runtime:
    command = (sys.executable, "-m", PACKAGE)
    if importlib.util.find_spec("uvicorn") is not None:
        return Runtime("romancy-py", frameworks.OURS, command, cli=ROMANCY_CLI, cli_json=True)
    # A plain `pip install romancy` has no HTTP server; every other mode still runs.
    return Runtime(
        "romancy-py",
        frameworks.OURS,
        command,
        modes=ALL_MODES - {"serve"},
        mode_notes={"serve": "romancy-py serves HTTP with uvicorn: pip install 'romancy[http]'"},
        cli=ROMANCY_CLI,
        cli_json=True,
    )


def edda_url(url: str) -> str:
    """A database URL in the form Edda's SQLAlchemy setup expects."""
    db = parse_database_url(url)
    if db.dialect == "sqlite":
        return f"sqlite+aiosqlite:///{db.sqlite_path}"
    driver = {"postgresql": "postgresql+asyncpg", "mysql": "mysql+aiomysql"}[db.dialect]
    return db.url.set(drivername=driver).render_as_string(hide_password=False)


def edda_python() -> Path:
    """The Python of Edda's virtual environment."""
    return edda_venv() / "bin" / "python"


def edda(python: Path | None = None) -> Runtime:
    """Edda through our driver, run by ``python`` (an interpreter that has Edda; default:
    the venv of :func:`edda_python`)."""
    python = python or edda_python()
    driver = SUITE / "conformance" / "drivers" / "edda_driver.py"
    if not python.exists():
        return Runtime(
            "edda",
            frameworks.EDDA,
            unavailable=f"no Edda virtual environment at {python.parent.parent} "
            "(scripts/test.sh creates it; or set ROMANCY_EDDA_VENV)",
        )
    command = (str(python), str(driver), "crosstest")
    return Runtime("edda", frameworks.EDDA, command, database=edda_url, no_cli=EDDA_NO_CLI)


def go_url(url: str) -> str:
    """What Go's ``WithDatabase`` takes: a SQLite path, or a ``postgres://``/``mysql://`` URL."""
    db = parse_database_url(url)
    return str(db.sqlite_path) if db.dialect == "sqlite" else db.dbmate_url()


def go(binary: str | None = None) -> Runtime:
    """Go's ``cmd/crosstest``: ``binary``, ``ROMANCY_GO_CROSSTEST``, or built from the module."""
    binary = binary or os.environ.get("ROMANCY_GO_CROSSTEST")
    if binary:
        if not Path(binary).is_file():
            return Runtime(
                "go", frameworks.GO, unavailable=f"ROMANCY_GO_CROSSTEST={binary} does not exist"
            )
        return Runtime("go", frameworks.GO, (binary,), modes=GO_MODES, database=go_url, **go_cli())
    built, reason = _build_go_crosstest()
    if built is None:
        return Runtime("go", frameworks.GO, unavailable=reason)
    return Runtime("go", frameworks.GO, (str(built),), modes=GO_MODES, database=go_url, **go_cli())


def go_cli() -> dict[str, Any]:
    """Go's ``romancy`` CLI (``cmd/romancy``, text output) named by ``ROMANCY_GO_CLI``."""
    binary = os.environ.get("ROMANCY_GO_CLI", "")
    if not binary:
        return {
            "no_cli": "no Go romancy CLI binary (set ROMANCY_GO_CLI to one built from "
            "the module's cmd/romancy)"
        }
    if not Path(binary).is_file():
        return {"no_cli": f"ROMANCY_GO_CLI={binary} does not exist"}
    return {"cli": (binary,)}


def _build_go_crosstest() -> tuple[Path | None, str]:
    """Build Go's ``cmd/crosstest`` from the module proxy; ``(None, why)`` when it cannot."""
    target = peer_dir() / "go-crosstest" / "crosstest"
    if target.exists():
        return target, ""
    go_tool = shutil.which("go")
    if go_tool is None:
        return None, "no Go toolchain on PATH"
    with tempfile.TemporaryDirectory() as work:
        fetched = _run([go_tool, "mod", "download", "-json", f"{GO_MODULE}@latest"], work)
        answer = _json_object(fetched.stdout)
        if fetched.returncode != 0 or "Dir" not in answer:
            detail = str(answer.get("Error") or fetched.stderr or f"exit {fetched.returncode}")
            return None, (
                f"the Go module {GO_MODULE} could not be downloaded from the module proxy "
                f"({detail.strip().splitlines()[0]})"
            )
        source = Path(work) / "romancy"
        module_dir = str(answer["Dir"])
        shutil.copytree(module_dir, source)
        source.chmod(0o755)
        migrations = source / "schema" / "db" / "migrations"
        shutil.rmtree(migrations, ignore_errors=True)
        shutil.copytree(bundled_migrations_dir(), migrations)
        target.parent.mkdir(parents=True, exist_ok=True)
        built = _run([go_tool, "build", "-o", str(target), "./cmd/crosstest"], str(source))
        if built.returncode != 0:
            return None, "go build ./cmd/crosstest failed: " + built.stderr.strip()[-300:]
    return target, ""


def _run(command: list[str], cwd: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GOFLAGS": "-mod=mod"}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


def _json_object(text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def from_spec(spec: str) -> Runtime:
    """A runtime from ``NAME`` or ``NAME=COMMAND`` (``romancy conformance run --runtime``).

    Known names alone: ``romancy-py``, ``edda`` (its venv), ``go`` (built, or
    ``ROMANCY_GO_CROSSTEST``). ``edda=PYTHON`` runs our Edda driver with that interpreter;
    ``go=BINARY`` runs that binary. Any other ``NAME=COMMAND`` is a program with the
    crosstest flags (split like a shell line), taking part with Go's modes (subscriber,
    publisher, send-to) and given the database the way Go's is (a SQLite path, or a
    ``postgres://``/``mysql://`` URL).
    """
    name, equals, command = (part.strip() for part in spec.partition("="))
    if not name:
        raise ValueError(f"--runtime {spec!r}: give NAME or NAME=COMMAND")
    if not equals:
        return available([name])[0]
    words = shlex.split(command)
    if not words:
        raise ValueError(f"--runtime {spec!r}: the command after '=' is empty")
    if name == "edda" and len(words) == 1:
        return edda(Path(words[0]))
    if name == "go" and len(words) == 1:
        return go(words[0])
    if name == "romancy-py":
        return Runtime(name, frameworks.OURS, tuple(words), cli=ROMANCY_CLI, cli_json=True)
    return Runtime(name, name, tuple(words), modes=GO_MODES, database=go_url)


def available(names: list[str]) -> list[Runtime]:
    """The named runtimes, each either launchable or carrying why not."""
    makers = {"romancy-py": romancy_py, "edda": edda, "go": go}
    unknown = [n for n in names if n not in makers]
    if unknown:
        raise ValueError(f"unknown runtime(s) {', '.join(unknown)}; known: {', '.join(makers)}")
    return [makers[name]() for name in names]
