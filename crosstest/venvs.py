"""The peers' own virtual environments: where they live, what they hold, making them.

Edda (and DBOS, for the benchmarks) pin other versions of libraries romancy uses, so each
runs from a venv of its own under :func:`peer_dir`. Standard library only: the test harness,
the conformance matrix and ``benchmarks/run.py`` all use it.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

#: The suite's root: the repository in a checkout, ``site-packages/romancy`` when installed
#: (the wheel maps ``crosstest/`` and ``conformance/`` under ``romancy``).
SUITE = Path(__file__).resolve().parents[1]

EDDA_VERSION = "0.16.2"
#: Edda with its async drivers, and uvicorn: the driver's ``serve`` mode runs Edda's ASGI app.
EDDA_REQUIREMENTS = (
    f"edda-framework=={EDDA_VERSION}",
    "asyncpg>=0.30",
    "aiomysql>=0.2",
    "uvicorn>=0.30",
)


class VenvError(RuntimeError):
    """A virtual environment could not be created; the message names the failed step."""


def peer_dir() -> Path:
    """Where the peers' venvs and builds live: ``ROMANCY_PEERS_DIR``, else ``.venvs/`` in a
    source checkout, else ``~/.cache/romancy/peers`` for an installed suite."""
    if "ROMANCY_PEERS_DIR" in os.environ:
        return Path(os.environ["ROMANCY_PEERS_DIR"])
    if (SUITE / "pyproject.toml").is_file():
        return SUITE / ".venvs"
    return Path.home() / ".cache" / "romancy" / "peers"


def edda_venv() -> Path:
    """Edda's venv: ``ROMANCY_EDDA_VENV``, or ``edda`` under :func:`peer_dir`."""
    return Path(os.environ.get("ROMANCY_EDDA_VENV", peer_dir() / "edda"))


def ensure_venv(venv: Path, requirements: Sequence[str]) -> Path:
    """The Python of ``venv`` holding ``requirements``, created or topped up on first use.

    A marker file in the venv names what was installed, and a lock file serialises
    processes that prepare the same venv at once (parallel test workers).
    """
    python = venv / "bin" / "python"
    marker = venv / f".romancy-{venv.name}-ready"
    wanted = " ".join(requirements)
    if marker.exists() and marker.read_text() == wanted:
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and marker.read_text() == wanted:
            return python
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        for step in ([sys.executable, "-m", "venv", str(venv)], [*pip, *requirements]):
            result = subprocess.run(step, capture_output=True, text=True, timeout=900)
            if result.returncode != 0:
                raise VenvError(
                    f"could not prepare {venv} ({' '.join(step[:4])}…): "
                    + result.stderr.strip()[-400:]
                )
        marker.write_text(wanted)
    return python
