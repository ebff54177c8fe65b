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

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from romancy.storage import parse_database_url
from romancy.storage.migrations import bundled_migrations_dir

from .venvs import SUITE, edda_venv, peer_dir

GO_MODULE = "github.com/i2y/romancy"

#: Modes of Go's ``cmd/crosstest``; ours and Edda's driver add the two HTTP-side ones.
GO_MODES = frozenset({"subscriber", "publisher", "send-to"})
ALL_MODES = GO_MODES | {"event-waiter", "serve"}


@dataclass(frozen=True)
class Runtime:
    """One runtime's crosstest program, or the reason it cannot run here."""

    name: str
    framework: str  # what it writes to workflow_instances.framework
    command: tuple[str, ...] = ()
    unavailable: str | None = None
    modes: frozenset[str] = ALL_MODES
    database: Callable[[str], str] = field(default=lambda url: url)

    def lacks(self, *modes: str) -> str | None:
        """Why this runtime cannot take part in a cell needing ``modes``, if it cannot."""
        if self.unavailable:
            return self.unavailable
        missing = sorted(set(modes) - self.modes)
        if missing:
            return f"{self.name}'s crosstest has no {', '.join(missing)} mode"
        return None


#: ``crosstest`` in a checkout, ``romancy.crosstest`` when installed.
PACKAGE = __package__ or "crosstest"


def romancy_py() -> Runtime:
    return Runtime("romancy-py", "romancy-py", (sys.executable, "-m", PACKAGE))


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
            "python",
            unavailable=f"no Edda virtual environment at {python.parent.parent} "
            "(scripts/test.sh creates it; or set ROMANCY_EDDA_VENV)",
        )
    return Runtime("edda", "python", (str(python), str(driver), "crosstest"), database=edda_url)


def go_url(url: str) -> str:
    """What Go's ``WithDatabase`` takes: a SQLite path, or a ``postgres://``/``mysql://`` URL."""
    db = parse_database_url(url)
    return str(db.sqlite_path) if db.dialect == "sqlite" else db.dbmate_url()


def go(binary: str | None = None) -> Runtime:
    """Go's ``cmd/crosstest``: ``binary``, ``ROMANCY_GO_CROSSTEST``, or built from the module."""
    binary = binary or os.environ.get("ROMANCY_GO_CROSSTEST")
    if binary:
        if not Path(binary).is_file():
            return Runtime("go", "go", unavailable=f"ROMANCY_GO_CROSSTEST={binary} does not exist")
        return Runtime("go", "go", (binary,), modes=GO_MODES, database=go_url)
    built, reason = _build_go_crosstest()
    if built is None:
        return Runtime("go", "go", unavailable=reason)
    return Runtime("go", "go", (str(built),), modes=GO_MODES, database=go_url)


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
        return Runtime(name, name, tuple(words))
    return Runtime(name, name, tuple(words), modes=GO_MODES, database=go_url)


def available(names: list[str]) -> list[Runtime]:
    """The named runtimes, each either launchable or carrying why not."""
    makers = {"romancy-py": romancy_py, "edda": edda, "go": go}
    unknown = [n for n in names if n not in makers]
    if unknown:
        raise ValueError(f"unknown runtime(s) {', '.join(unknown)}; known: {', '.join(makers)}")
    return [makers[name]() for name in names]
