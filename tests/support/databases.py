"""Throw-away databases on the test servers.

Each backend gets brand-new empty databases for migration tests and one migrated database
per xdist worker for storage tests (emptied before every test). Administrative statements
use the synchronous drivers that ship with the async ones (psycopg, PyMySQL).
"""

from __future__ import annotations

import itertools
import os
import uuid
from pathlib import Path

import psycopg
import pymysql
from sqlalchemy.engine import make_url

from romancy.storage import Storage, parse_database_url
from romancy.storage.tables import SHARED_TABLES

PREFIX = "rt_"
_counter = itertools.count()


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


def _run_id() -> str:
    # The controller's pid, inherited by xdist workers: tells whose databases these are.
    return os.environ.setdefault("ROMANCY_TEST_RUN_PID", str(os.getpid()))


def new_database_name(purpose: str = "db") -> str:
    """A name no other test (or earlier run) uses: ``rt_<run pid>_<worker>_…``."""
    return f"{PREFIX}{_run_id()}_{_worker()}_{purpose}_{next(_counter)}_{uuid.uuid4().hex[:6]}"


def create_database(backend: str, server_url: str | None, tmp: Path, purpose: str = "db") -> str:
    """Create an empty database and return its URL."""
    name = new_database_name(purpose)
    if backend == "sqlite":
        return f"sqlite:///{tmp / (name + '.db')}"
    assert server_url is not None
    _admin(backend, server_url, f"CREATE DATABASE {name}")
    return parse_database_url(server_url).with_database(name).original


def drop_database(backend: str, server_url: str | None, url: str) -> None:
    """Drop a database made by :func:`create_database` (SQLite files go with tmp_path)."""
    if backend == "sqlite":
        return
    assert server_url is not None
    name = parse_database_url(url).database
    assert name and name.startswith(PREFIX), name
    force = " WITH (FORCE)" if backend == "postgresql" else ""
    _admin(backend, server_url, f"DROP DATABASE IF EXISTS {name}{force}")


def drop_stale_databases(backend: str, server_url: str) -> None:
    """Remove databases left behind by interrupted runs (never those of a live run)."""
    query = (
        "SELECT datname FROM pg_database WHERE datname LIKE 'rt\\_%'"
        if backend == "postgresql"
        else "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'rt\\_%'"
    )
    for (name,) in _admin(backend, server_url, query):
        if _owner_alive(name):
            continue
        force = " WITH (FORCE)" if backend == "postgresql" else ""
        _admin(backend, server_url, f"DROP DATABASE IF EXISTS {name}{force}")


def server_version(backend: str, server_url: str) -> str:
    """The server's own version string, for the report header."""
    rows = _admin(backend, server_url, "SELECT version()")
    return str(rows[0][0]).split(" on ")[0].split(",")[0]


async def empty_all_tables(storage: Storage) -> None:
    """Delete every row of the shared tables (children first)."""
    async with storage.transaction() as tx:
        if storage.url.dialect == "mysql":
            await tx.connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
        for table in reversed(SHARED_TABLES):
            await tx.connection.exec_driver_sql(f"DELETE FROM {table}")
        if storage.url.dialect == "mysql":
            await tx.connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")


def _admin(backend: str, server_url: str, sql: str) -> list[tuple[object, ...]]:
    url = make_url(parse_database_url(server_url).url.render_as_string(hide_password=False))
    if backend == "postgresql":
        with (
            psycopg.connect(
                host=url.host,
                port=url.port or 5432,
                user=url.username,
                password=url.password,
                dbname="postgres",
                autocommit=True,
            ) as conn,
            conn.cursor() as cur,
        ):
            cur.execute(sql)
            return list(cur.fetchall()) if cur.description else []
    conn = pymysql.connect(
        host=url.host,
        port=url.port or 3306,
        user=url.username,
        password=url.password or "",
        autocommit=True,
    )
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def _owner_alive(name: str) -> bool:
    pid = name[len(PREFIX) :].split("_", 1)[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
