"""Finding real PostgreSQL and MariaDB/MySQL servers for the tests.

Order of preference, per backend:

1. ``ROMANCY_TEST_POSTGRES_URL`` / ``ROMANCY_TEST_MYSQL_URL`` when set;
2. testcontainers, when a Docker engine answers;
3. ``scripts/db-servers.sh start``: local servers from the OS packages on 127.0.0.1.

Resolution happens once, in the pytest controller process, and its result is exported
through the same environment variables so xdist workers inherit it. A backend that could
not be had keeps the reason, and every test that needs it fails with that reason.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BACKENDS = ("sqlite", "postgresql", "mysql")
_ENV = {"postgresql": "ROMANCY_TEST_POSTGRES_URL", "mysql": "ROMANCY_TEST_MYSQL_URL"}
_ORIGIN = "ROMANCY_TEST_{}_ORIGIN"
_REASON = "ROMANCY_TEST_{}_UNAVAILABLE"
_containers: list[Any] = []  # kept alive for the session


@dataclass(frozen=True)
class Server:
    """Where one backend's tests get their databases, or why they cannot."""

    backend: str
    url: str | None
    origin: str
    unavailable: str | None = None


def selected_backends() -> list[str]:
    """Backends to run: all three unless ``ROMANCY_TEST_BACKENDS`` narrows them on purpose."""
    raw = os.environ.get("ROMANCY_TEST_BACKENDS", "")
    chosen = [b.strip() for b in raw.split(",") if b.strip()] or list(BACKENDS)
    unknown = set(chosen) - set(BACKENDS)
    if unknown:
        raise SystemExit(f"ROMANCY_TEST_BACKENDS names unknown backends: {sorted(unknown)}")
    return chosen


def resolve_servers() -> None:
    """Find servers for the selected backends and export them (controller process only)."""
    wanted = [b for b in selected_backends() if b != "sqlite"]
    for backend in wanted:
        if os.environ.get(_ENV[backend]):
            os.environ.setdefault(_origin_var(backend), f"{_ENV[backend]}, set by the caller")
    missing = [b for b in wanted if not os.environ.get(_ENV[b])]
    if not missing:
        return
    if _docker_answers():
        for backend in missing:
            _start_container(backend)
    else:
        _run_local_script(missing)


def server(backend: str) -> Server:
    """What this process knows about ``backend`` (after :func:`resolve_servers`)."""
    if backend == "sqlite":
        return Server("sqlite", None, "a file per database under pytest's tmp dir (aiosqlite)")
    url = os.environ.get(_ENV[backend])
    origin = os.environ.get(_origin_var(backend), "unknown")
    reason = os.environ.get(_REASON.format(backend.upper())) or f"{_ENV[backend]} is not set"
    return Server(backend, url, origin, None if url else reason)


def _origin_var(backend: str) -> str:
    return _ORIGIN.format("POSTGRES" if backend == "postgresql" else "MYSQL")


def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _start_container(backend: str) -> None:
    try:
        if backend == "postgresql":
            from testcontainers.postgres import PostgresContainer

            container = PostgresContainer(
                "postgres:16-alpine", username="romancy", password="romancy", dbname="romancy_test"
            )
            container.start()
            url = (
                f"postgresql://romancy:romancy@{container.get_container_host_ip()}:"
                f"{container.get_exposed_port(5432)}/romancy_test"
            )
        else:
            from testcontainers.mysql import MySqlContainer

            container = MySqlContainer(
                "mysql:8.0",
                username="romancy",
                password="romancy",
                dbname="romancy_test",
                root_password="romancy",
            )
            container.start()
            url = (
                f"mysql://root:romancy@{container.get_container_host_ip()}:"
                f"{container.get_exposed_port(3306)}/romancy_test"
            )
    except Exception as exc:  # the reason is reported by every test that needs it
        os.environ[_REASON.format(backend.upper())] = f"testcontainers failed: {exc}"
        return
    _containers.append(container)
    os.environ[_ENV[backend]] = url
    os.environ[_origin_var(backend)] = "testcontainers (a Docker engine answered)"


def _run_local_script(missing: list[str]) -> None:
    lock_path = Path(os.environ.get("TMPDIR", "/tmp")) / "romancy-db-servers.lock"
    with open(lock_path, "w") as lock, _flock(lock):
        result = subprocess.run(
            [str(REPO / "scripts" / "db-servers.sh"), "start"],
            capture_output=True,
            text=True,
            timeout=900,
        )
    if result.returncode != 0:
        reason = (
            "no Docker engine, and scripts/db-servers.sh failed: "
            + (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        )
        for backend in missing:
            os.environ[_REASON.format(backend.upper())] = reason
        return
    exported = dict(
        line[len("export ") :].split("=", 1)
        for line in result.stdout.splitlines()
        if line.startswith("export ")
    )
    for backend in missing:
        os.environ[_ENV[backend]] = exported[_ENV[backend]]
        origin = exported.get(_origin_var(backend), "'scripts/db-servers.sh'").strip("'")
        os.environ[_origin_var(backend)] = f"{origin} (no Docker engine answered)"


@contextlib.contextmanager
def _flock(handle: Any) -> Any:
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
