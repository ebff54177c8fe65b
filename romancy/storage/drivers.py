"""Each backend's driver is an optional extra; a missing one names its install line."""

from __future__ import annotations

from importlib.util import find_spec

from romancy.errors import ConfigurationError
from romancy.storage.urls import DatabaseURL

#: backend -> (what it is called, the modules its driver needs, the pip install line)
_DRIVERS = {
    "postgresql": ("PostgreSQL", ("psycopg",), "pip install 'romancy[postgresql]'"),
    "mysql": ("MySQL/MariaDB", ("aiomysql", "pymysql"), "pip install 'romancy[mysql]'"),
    "aiosqlite": ("sqlite+aiosqlite://", ("aiosqlite",), "pip install aiosqlite"),
}


def require_driver(db: DatabaseURL) -> None:
    """Raise :class:`ConfigurationError` naming the install line when ``db``'s driver is
    not installed (the built-in SQLite driver needs nothing)."""
    backend = "aiosqlite" if db.url.drivername == "sqlite+aiosqlite" else db.dialect
    if backend not in _DRIVERS:
        return
    name, modules, install = _DRIVERS[backend]
    missing = [module for module in modules if find_spec(module) is None]
    if missing:
        raise ConfigurationError(
            f"{name} needs the {', '.join(missing)} driver, which is not installed: {install}"
        )
