"""Database URL parsing: every spelling users of Go Romancy and Edda write, one result.

Accepted forms::

    sqlite:///relative/path.db    sqlite:////absolute/path.db    sqlite://path.db
    file:path.db                  path.db                        :memory:
    postgres://…    postgresql://…    postgresql+<driver>://…
    mysql://…       mariadb://…       mysql+<driver>://…

Whatever driver a URL names, romancy talks to the database through its own async driver
(its thread-free SQLite driver, psycopg 3, aiomysql); the driver suffix only selects the
backend. The one exception: ``sqlite+aiosqlite://`` selects aiosqlite.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from romancy.errors import ConfigurationError

DialectName = Literal["sqlite", "postgresql", "mysql"]

_ASYNC_DRIVER: dict[DialectName, str] = {
    # romancy's own thread-free driver (romancy.storage.dialects.sqlite_driver);
    # ``sqlite+aiosqlite://`` asks for aiosqlite explicitly.
    "sqlite": "sqlite+romancy",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+aiomysql",
}

_SCHEME_TO_DIALECT: dict[str, DialectName] = {
    "sqlite": "sqlite",
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
}

# Query parameters the Go drivers understand and ours would reject.
_GO_ONLY_PARAMS = {
    "parseTime",
    "loc",
    "multiStatements",
    "_pragma",
    "_busy_timeout",
    "_journal_mode",
}

MEMORY = ":memory:"

ACCEPTED_FORMS = (
    "sqlite:///path.db, sqlite://path.db, file:path.db, path.db, :memory:, "
    "postgres://…, postgresql://…, mysql://…, mariadb://… (optionally with +driver)"
)


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed database location.

    ``url`` is the SQLAlchemy URL with romancy's async driver; ``original`` is what the
    user wrote. ``sqlite_path`` is the file (or ``:memory:``) for SQLite, else ``None``.
    """

    dialect: DialectName
    url: URL
    original: str
    sqlite_path: str | None = None

    @property
    def redacted(self) -> str:
        """The URL with any password hidden, safe for logs and error messages."""
        if self.dialect == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        return self.url.set(drivername=self.dialect).render_as_string(hide_password=True)

    @property
    def database(self) -> str | None:
        """The database name (PostgreSQL/MySQL) or file path (SQLite)."""
        return self.sqlite_path if self.dialect == "sqlite" else self.url.database

    def with_database(self, name: str) -> DatabaseURL:
        """The same server with another database (PostgreSQL/MySQL) or file (SQLite)."""
        if self.dialect == "sqlite":
            return parse_database_url(f"sqlite:///{name}")
        url = self.url.set(database=name)
        return DatabaseURL(self.dialect, url, url.render_as_string(hide_password=False))

    def libpq_url(self) -> str:
        """A PostgreSQL URL for libpq (psycopg) itself, password included."""
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def dbmate_url(self) -> str:
        """The URL in the form the dbmate CLI expects."""
        if self.dialect == "sqlite":
            if self.sqlite_path == MEMORY:
                raise ConfigurationError("dbmate cannot operate on an in-memory SQLite database")
            return f"sqlite:{self.sqlite_path}"
        url = self.url.set(drivername="postgres" if self.dialect == "postgresql" else "mysql")
        if self.dialect == "postgresql" and "sslmode" not in url.query:
            url = url.update_query_dict({"sslmode": "disable"})
        return url.render_as_string(hide_password=False)


def parse_database_url(value: str) -> DatabaseURL:
    """Parse any accepted spelling of a database location.

    Raises :class:`~romancy.errors.ConfigurationError` naming the problem for an empty
    value, an unknown scheme or an unparsable URL.
    """
    raw = value.strip() if isinstance(value, str) else value
    if not isinstance(raw, str) or not raw:
        raise ConfigurationError(f"database URL must be a non-empty string, got {value!r}")

    sqlite_path = _sqlite_path(raw)
    if sqlite_path is not None:
        driver = "sqlite+aiosqlite" if raw.lower().startswith("sqlite+aiosqlite:") else None
        url = URL.create(driver or _ASYNC_DRIVER["sqlite"], database=sqlite_path)
        return DatabaseURL("sqlite", url, raw, sqlite_path)

    scheme, sep, _ = raw.partition("://")
    if not sep:
        raise ConfigurationError(
            f"cannot tell which database {raw!r} names; accepted forms: {ACCEPTED_FORMS}"
        )
    base = scheme.split("+", 1)[0].lower()
    dialect = _SCHEME_TO_DIALECT.get(base)
    if dialect is None:
        raise ConfigurationError(
            f"unknown database URL scheme {scheme!r} in {_redact(raw)}; "
            f"accepted forms: {ACCEPTED_FORMS}"
        )
    try:
        parsed = make_url(_ASYNC_DRIVER[dialect] + "://" + raw.split("://", 1)[1])
    except ArgumentError as exc:
        raise ConfigurationError(f"malformed database URL {_redact(raw)}: {exc}") from None
    if not parsed.database:
        raise ConfigurationError(f"database URL {_redact(raw)} names no database")
    query = {k: v for k, v in parsed.query.items() if k not in _GO_ONLY_PARAMS}
    return DatabaseURL(dialect, parsed.set(query=query), raw)


def _sqlite_path(raw: str) -> str | None:
    """The SQLite file named by ``raw``, or ``None`` when it is not a SQLite location."""
    if raw == MEMORY:
        return MEMORY
    lowered = raw.lower()
    for prefix in ("sqlite+aiosqlite://", "sqlite+pysqlite://", "sqlite://"):
        if lowered.startswith(prefix):
            rest = raw[len(prefix) :]
            # sqlite:///rel.db and sqlite:////abs.db (SQLAlchemy), sqlite://rel.db (lenient).
            path = rest[1:] if rest.startswith("/") else rest
            return _strip_query(path) or MEMORY
    if lowered.startswith("file:"):
        return _strip_query(raw[len("file:") :]) or MEMORY
    if "://" not in raw and (lowered.endswith((".db", ".sqlite", ".sqlite3"))):
        return raw
    return None


def _strip_query(path: str) -> str:
    path = path.split("?", 1)[0]
    return MEMORY if path in ("", MEMORY) else str(Path(path))


def _redact(raw: str) -> str:
    """Hide a password in a URL that may not even parse."""
    head, sep, tail = raw.partition("://")
    if not sep or "@" not in tail:
        return raw
    creds, _, host = tail.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{head}://{user}:***@{host}" if ":" in creds else raw
