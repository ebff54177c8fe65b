"""The runtimes a matrix cell can drive: how to launch each one's crosstest program.

* ``romancy-py``: ``python -m crosstest`` (this repository).
* ``edda``: ``conformance/drivers/edda_driver.py crosstest`` in Edda's own venv
  (``ROMANCY_EDDA_VENV``, default ``.venvs/edda``).
* ``go``: the binary named by ``ROMANCY_GO_CROSSTEST``, or one built from the Go module
  ``github.com/i2y/romancy`` with our migrations supplied (the module's ``schema/`` is a
  git submodule that module downloads lack). When neither works the runtime carries the
  reason, and its cells are reported "not run".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crosstest.venvs import REPO as REPO
from crosstest.venvs import edda_venv
from romancy.storage import parse_database_url

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


def romancy_py() -> Runtime:
    return Runtime("romancy-py", "romancy-py", (sys.executable, "-m", "crosstest"))


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


def edda() -> Runtime:
    python = edda_python()
    driver = REPO / "conformance" / "drivers" / "edda_driver.py"
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


def go() -> Runtime:
    binary = os.environ.get("ROMANCY_GO_CROSSTEST")
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
    target = REPO / ".venvs" / "go-crosstest" / "crosstest"
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
        shutil.copytree(REPO / "schema" / "db" / "migrations", migrations)
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


def available(names: list[str]) -> list[Runtime]:
    """The named runtimes, each either launchable or carrying why not."""
    makers = {"romancy-py": romancy_py, "edda": edda, "go": go}
    unknown = [n for n in names if n not in makers]
    if unknown:
        raise ValueError(f"unknown runtime(s) {', '.join(unknown)}; known: {', '.join(makers)}")
    return [makers[name]() for name in names]
