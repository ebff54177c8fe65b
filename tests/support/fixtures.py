"""Pytest plugin: every storage test runs on SQLite, PostgreSQL and MariaDB/MySQL.

Fixtures:

* ``backend`` — parametrised over the selected backends; a backend whose server could not
  be had fails the test with the reason (never a silent skip).
* ``make_database`` — factory for brand-new empty databases, dropped after the test.
* ``storage`` — an open :class:`~romancy.storage.Storage` on a migrated, emptied database.
* ``app`` — a started :class:`~romancy.App` on that database, with fast background loops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from romancy import App
from romancy.storage import Storage, parse_database_url

from .databases import (
    create_database,
    drop_database,
    drop_stale_databases,
    empty_all_tables,
    server_version,
)
from .servers import BACKENDS, resolve_servers, selected_backends, server


@dataclass(frozen=True)
class Backend:
    """The backend a test runs on."""

    name: str
    server_url: str | None


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # xdist workers inherit what the controller resolved
    resolve_servers()
    for name in selected_backends():
        info = server(name)
        if info.url:
            drop_stale_databases(name, info.url)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = ["romancy backends:"]
    chosen = selected_backends()
    for name in BACKENDS:
        info = server(name)
        if name not in chosen:
            lines.append(f"  {name}: not run (excluded by ROMANCY_TEST_BACKENDS)")
        elif name == "sqlite":
            lines.append(f"  sqlite: {info.origin}")
        elif info.url:
            where = parse_database_url(info.url).redacted
            version = server_version(name, info.url)
            lines.append(f"  {name}: {version} at {where}, via {info.origin}")
        else:
            lines.append(f"  {name}: UNAVAILABLE, its tests will fail: {info.unavailable}")
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    backends = selected_backends()
    marker = metafunc.definition.get_closest_marker("backends")
    if marker is not None:
        # A case that only makes sense on some backends says so, with its reason.
        assert marker.kwargs.get("reason"), "@pytest.mark.backends needs reason="
        backends = [b for b in backends if b in marker.args]
    metafunc.parametrize("backend", backends, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Backend:
    name: str = request.param
    info = server(name)
    if name != "sqlite" and not info.url:
        pytest.fail(f"backend {name} is unavailable: {info.unavailable}", pytrace=False)
    return Backend(name, info.url)


@pytest.fixture
def make_database(backend: Backend, tmp_path: Path) -> Iterator[Callable[[], str]]:
    created: list[str] = []

    def make(purpose: str = "db") -> str:
        url = create_database(backend.name, backend.server_url, tmp_path, purpose)
        created.append(url)
        return url

    yield make
    for url in created:
        drop_database(backend.name, backend.server_url, url)


_migrated: dict[str, str] = {}


@pytest.fixture
async def storage(backend: Backend, tmp_path: Path) -> AsyncIterator[Storage]:
    if backend.name == "sqlite":
        url = create_database("sqlite", None, tmp_path, "storage")
        store = await Storage.open(url)
        await store.migrate()
    else:
        url = _migrated.get(backend.name) or create_database(
            backend.name, backend.server_url, tmp_path, "storage"
        )
        store = await Storage.open(url)
        if backend.name not in _migrated:
            await store.migrate()
            _migrated[backend.name] = url
        await empty_all_tables(store)
    try:
        yield store
    finally:
        await store.close()


#: Intervals short enough for tests to observe background behaviour quickly.
FAST_OPTIONS: dict[str, object] = {
    "timer_check_interval": 0.5,
    "workflow_resumption_interval": 0.1,
    "leader_heartbeat_interval": 0.5,
    "stale_lock_interval": 0.5,
    "recur_check_interval": 0.5,
    "shutdown_timeout": 5.0,
    "stale_lock_timeout": 9.0,  # leases renewed every 3 s
}


@pytest.fixture
def app_options() -> dict[str, object]:
    """Options for the ``app`` fixture; override the fixture to change them."""
    return {}


@pytest.fixture
async def app(storage: Storage, app_options: dict[str, object]) -> AsyncIterator[App]:
    """A started App on the test database (migrated and emptied), with fast loops."""
    instance = App(database=storage.url.original, **{**FAST_OPTIONS, **app_options})
    await instance.start()
    try:
        yield instance
    finally:
        await instance.shutdown()
