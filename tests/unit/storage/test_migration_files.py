"""Parsing dbmate files: statements, markers, and every malformed case named."""

from __future__ import annotations

from pathlib import Path

import pytest

from romancy import MalformedMigrationError
from romancy.storage.migrations import (
    bundled_migrations_dir,
    load_migrations,
    parse_migration,
    split_statements,
)


def test_split_honours_quotes_and_comments() -> None:
    sql = """
    -- a comment; with a semicolon
    CREATE TABLE a (x TEXT DEFAULT 'semi;colon');  /* block; comment */
    INSERT INTO a VALUES ('it''s; fine');
    -- trailing comment only
    """
    assert split_statements(sql) == [
        "CREATE TABLE a (x TEXT DEFAULT 'semi;colon')",
        "INSERT INTO a VALUES ('it''s; fine')",
    ]


def test_parse_sections() -> None:
    migration = parse_migration(
        "20250101000000_add.sql",
        "-- leading comment\n-- migrate:up\nCREATE TABLE t (x INT);\n"
        "CREATE INDEX i ON t (x);\n-- migrate:down\nDROP TABLE t;\n",
    )
    assert migration.version == "20250101000000"
    assert migration.up == ("CREATE TABLE t (x INT)", "CREATE INDEX i ON t (x)")
    assert migration.down == ("DROP TABLE t",)
    assert migration.created_tables == ("t",)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("initial.sql", "-- migrate:up\nSELECT 1;", "must start with a numeric version"),
        ("1_x.sql", "CREATE TABLE t (x INT);", "no '-- migrate:up' line"),
        ("1_x.sql", "SELECT 1;\n-- migrate:up\nSELECT 2;", "SQL found before"),
        ("1_x.sql", "-- migrate:down\nSELECT 1;\n-- migrate:up\nSELECT 2;", "comes before up"),
        ("1_x.sql", "-- migrate:up\n-- nothing\n-- migrate:down\n", "holds no statement"),
        ("1_x.sql", "-- migrate:up\nSELECT 'open;\n", "unterminated ' quote"),
        ("1_x.sql", "-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;", "repeated"),
    ],
)
def test_malformed_files_are_named(name: str, text: str, message: str) -> None:
    with pytest.raises(MalformedMigrationError, match=message) as info:
        parse_migration(name, text)
    assert name in str(info.value)


def test_folder_validation(tmp_path: Path) -> None:
    (tmp_path / "sqlite").mkdir()
    with pytest.raises(MalformedMigrationError, match=r"holds no \.sql files"):
        load_migrations(tmp_path, "sqlite")
    with pytest.raises(MalformedMigrationError, match="does not exist"):
        load_migrations(tmp_path, "mysql")
    (tmp_path / "sqlite" / "1_a.sql").write_text("-- migrate:up\nSELECT 1;")
    (tmp_path / "sqlite" / "1_b.sql").write_text("-- migrate:up\nSELECT 2;")
    with pytest.raises(MalformedMigrationError, match=r"version 1 is also used by 1_a\.sql"):
        load_migrations(tmp_path, "sqlite")


def test_versions_sort_numerically(tmp_path: Path) -> None:
    (tmp_path / "sqlite").mkdir()
    for version in ("9", "10", "100"):
        (tmp_path / "sqlite" / f"{version}_m.sql").write_text("-- migrate:up\nSELECT 1;")
    assert [m.version for m in load_migrations(tmp_path, "sqlite")] == ["9", "10", "100"]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mysql"])
def test_bundled_migrations_create_the_fourteen_tables(dialect: str) -> None:
    (migration,) = load_migrations(bundled_migrations_dir(), dialect)  # type: ignore[arg-type]
    assert migration.version == "20251217000000"
    assert len(migration.created_tables) == 14
    assert len(migration.down) == 14
