"""Database URL parsing accepts what users of both peers write."""

from __future__ import annotations

import re

import pytest

from romancy import ConfigurationError
from romancy.storage import parse_database_url


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ("sqlite:///orders.db", "orders.db"),
        ("sqlite:////var/data/orders.db", "/var/data/orders.db"),
        ("sqlite://orders.db", "orders.db"),
        ("sqlite+pysqlite:///orders.db", "orders.db"),
        ("file:orders.db", "orders.db"),
        ("file:orders.db?_pragma=journal_mode(WAL)", "orders.db"),
        ("orders.db", "orders.db"),
        (":memory:", ":memory:"),
        ("sqlite://", ":memory:"),
    ],
)
def test_sqlite_spellings(raw: str, path: str) -> None:
    db = parse_database_url(raw)
    assert db.dialect == "sqlite"
    assert db.sqlite_path == path
    assert db.url.drivername == "sqlite+romancy"


def test_aiosqlite_can_be_chosen_explicitly() -> None:
    db = parse_database_url("sqlite+aiosqlite:///orders.db")
    assert (db.url.drivername, db.sqlite_path) == ("sqlite+aiosqlite", "orders.db")


@pytest.mark.parametrize(
    ("raw", "dialect", "driver"),
    [
        ("postgres://u:p@db:5432/app", "postgresql", "postgresql+psycopg"),
        ("postgresql://u:p@db/app?sslmode=disable", "postgresql", "postgresql+psycopg"),
        ("postgresql+asyncpg://u:p@db/app", "postgresql", "postgresql+psycopg"),
        ("postgresql+psycopg://u:p@db/app", "postgresql", "postgresql+psycopg"),
        ("mysql://u:p@db:3306/app", "mysql", "mysql+aiomysql"),
        ("mysql+aiomysql://u:p@db/app", "mysql", "mysql+aiomysql"),
        ("mariadb://u:p@db/app", "mysql", "mysql+aiomysql"),
    ],
)
def test_server_urls_use_our_async_driver(raw: str, dialect: str, driver: str) -> None:
    db = parse_database_url(raw)
    assert db.dialect == dialect
    assert db.url.drivername == driver
    assert db.database == "app"


def test_go_only_mysql_parameters_are_dropped() -> None:
    db = parse_database_url("mysql://u:p@db/app?parseTime=true&loc=UTC&charset=utf8mb4")
    assert dict(db.url.query) == {"charset": "utf8mb4"}


def test_redacted_hides_the_password() -> None:
    db = parse_database_url("postgresql://user:s3cret@db:5432/app")
    assert "s3cret" not in db.redacted
    assert db.redacted.startswith("postgresql://user:***@db:5432/app")


def test_dbmate_form() -> None:
    assert parse_database_url("sqlite:///x.db").dbmate_url() == "sqlite:x.db"
    pg = parse_database_url("postgresql+asyncpg://u:p@h:1/d").dbmate_url()
    assert pg == "postgres://u:p@h:1/d?sslmode=disable"
    assert parse_database_url("mariadb://u:p@h:2/d").dbmate_url() == "mysql://u:p@h:2/d"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("oracle://u:p@db/app", "unknown database URL scheme 'oracle'"),
        ("mongodb+srv://u:secret@db/app", "unknown database URL scheme 'mongodb+srv'"),
        ("", "non-empty"),
        ("just-a-name", "cannot tell which database"),
        ("postgresql://u:p@db", "names no database"),
    ],
)
def test_bad_urls_are_named(raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)) as info:
        parse_database_url(raw)
    assert "secret" not in str(info.value)
