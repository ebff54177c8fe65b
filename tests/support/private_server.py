"""A database server of a test's own, which it may stop and start at will.

Started by ``scripts/db-servers.sh`` on free ports with its own data directory, so
restarting it never disturbs the shared servers other tests use at the same time.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from .servers import REPO

_SCRIPT = str(REPO / "scripts" / "db-servers.sh")
_URL_VAR = {"postgresql": "ROMANCY_TEST_POSTGRES_URL", "mysql": "ROMANCY_TEST_MYSQL_URL"}


class PrivateServer:
    """One PostgreSQL or MariaDB server, private to the test that made it."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        # Not under pytest's tmp dir: the server runs as its own OS user, which must be
        # able to reach its data directory.
        self.root = Path(tempfile.mkdtemp(prefix="romancy-private-db-", dir="/var/tmp"))
        self.root.chmod(0o755)
        self._env = {
            **os.environ,
            "ROMANCY_DB_DIR": str(self.root),
            "ROMANCY_PG_PORT": str(free_port()),
            "ROMANCY_MYSQL_PORT": str(free_port()),
        }
        self.url = ""

    def start(self) -> str:
        """Start (initialising on first use) and return the server's URL."""
        out = self._script("start")
        prefix = f"export {_URL_VAR[self.backend]}="
        self.url = next(line[len(prefix) :] for line in out.splitlines() if line.startswith(prefix))
        return self.url

    def stop(self) -> None:
        """Stop the server and wait until it has exited (its data is kept)."""
        self._script("stop")

    def destroy(self) -> None:
        """Stop the server and delete its data."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _script(self, action: str) -> str:
        result = subprocess.run(
            [_SCRIPT, action, self.backend],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"db-servers.sh {action} {self.backend}: {result.stderr[-2000:]}")
        return result.stdout


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
