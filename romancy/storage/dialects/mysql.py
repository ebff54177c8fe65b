"""MySQL and MariaDB: aiomysql (PyMySQL), sessions at +00:00, GET_LOCK for migrations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Integer,
    String,
    Table,
    and_,
    case,
    cast,
    event,
    false,
    func,
    literal,
    literal_column,
    or_,
    text,
    type_coerce,
)
from sqlalchemy.dialects.mysql import BINARY
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Insert

from romancy.errors import InvalidValueError
from romancy.storage.dialects.base import (
    MIGRATION_LOCK_NAME,
    Dialect,
    JsonScalar,
    driver_error,
)
from romancy.storage.dialects.json_text import (
    as_double,
    as_integer,
    integer_spellings,
    key_spellings,
)
from romancy.storage.urls import DatabaseURL

#: Bytes the driver escapes with a backslash when it writes a value into a statement.
_ESCAPED = (b"\\", b"'", b'"', b"\x00", b"\n", b"\r", b"\x1a")
_DUPLICATE_ENTRY = 1062
_NO_PARENT_ROW = 1452
# table exists, duplicate key name, duplicate foreign key name, duplicate check name
_ALREADY_EXISTS = {1050, 1061, 1826, 3822}


async def _no_warnings() -> None:
    return None


def _errno(error: DBAPIError) -> int | None:
    args = getattr(driver_error(error), "args", ())
    return args[0] if args and isinstance(args[0], int) else None


class MySQLDialect(Dialect):
    name = "mysql"

    def engine_options(self, db: DatabaseURL, pool_size: int) -> dict[str, Any]:
        return {
            "pool_size": pool_size,
            "max_overflow": pool_size,
            "pool_recycle": 3600,
            # Row locks and conditional UPDATEs must see other sessions' commits.
            "isolation_level": "READ COMMITTED",
            "connect_args": {"init_command": "SET time_zone = '+00:00'", "charset": "utf8mb4"},
        }

    def prepare_engine(self, engine: AsyncEngine, db: DatabaseURL, *, autocommit: bool) -> None:
        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # aiomysql answers every statement that raised a server warning (each INSERT
            # IGNORE that skipped a duplicate, by design here) with an extra SHOW WARNINGS
            # round trip and a Python warning. Neither tells us anything.
            dbapi_conn.driver_connection.show_warnings = _no_warnings

        if autocommit:
            # PyMySQL sends COMMIT to the server even in autocommit mode: one wasted
            # round trip per statement. Nothing is ever pending on these connections.
            engine.sync_engine.dialect.do_commit = lambda dbapi_connection: None  # type: ignore[method-assign]

    def now(self) -> ColumnElement[Any]:
        return func.now()

    def now_plus(self, seconds: ColumnElement[Any] | float) -> ColumnElement[Any]:
        # TIMESTAMP keeps whole seconds; round the lease up rather than cut it short.
        amount = literal(int(-(-seconds // 1))) if isinstance(seconds, int | float) else seconds
        return func.timestampadd(literal_column("SECOND"), cast(amount, Integer), func.now())

    def exact(self, column: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
        # The shared schema's columns use the server's default collation, which folds
        # case, accents and trailing spaces. The plain comparison keeps the index; the
        # byte comparison (no padding either) then keeps only the exact spelling.
        text_value = type_coerce(value, String())  # bound as text, compared as bytes
        return and_(column == value, cast(column, BINARY) == cast(text_value, BINARY))

    async def probe(self, conn: AsyncConnection) -> int | None:
        return int(await conn.scalar(text("SELECT @@max_allowed_packet")))

    def statement_bytes(self, value: str | bytes) -> int:
        # The driver escapes values into the statement text: each of these takes two
        # bytes there (JSON text is ASCII, so its quotes and backslashes are what grows).
        raw = value.encode("utf-8") if isinstance(value, str) else value
        return len(raw) + sum(raw.count(c) for c in _ESCAPED)

    def json_match(
        self, column: ColumnElement[Any], keys: list[str], value: JsonScalar
    ) -> ColumnElement[bool]:
        if any(key.startswith("-") for key in keys):
            # MariaDB's path parser takes `$."-a"` for an array offset and finds nothing:
            # refuse rather than answer "no match" for rows that do match.
            raise InvalidValueError(
                f"input filter {'.'.join(keys)!r}: MariaDB cannot search a key starting with '-'"
            )
        # MariaDB finds a key by its spelling, so each writer's spelling is tried.
        spellings = zip(*(key_spellings(key) for key in keys), strict=True)
        paths = dict.fromkeys("$" + "".join(f'."{key}"' for key in keys) for keys in spellings)
        return or_(*(self._match_at(func.json_extract(column, path), value) for path in paths))

    def _match_at(self, raw: ColumnElement[Any], value: JsonScalar) -> ColumnElement[bool]:
        kind = func.json_type(raw)
        if value is None:
            return kind == "NULL"
        if isinstance(value, bool):
            return and_(kind == "BOOLEAN", raw == ("true" if value else "false"))
        if isinstance(value, str):
            # Bytes, not the column collation's case- and accent-folded comparison.
            decoded = cast(func.json_unquote(raw), BINARY)
            return and_(kind == "STRING", decoded == cast(literal(value), BINARY))
        # An integer literal is compared as written, never through a double.
        integer, double = as_integer(value), as_double(value)
        by_text = false() if integer is None else raw.in_(integer_spellings(integer))
        by_double = false() if double is None else type_coerce(raw, Float) + 0 == double
        return case(
            (kind.not_in(["INTEGER", "UNSIGNED INTEGER", "DOUBLE"]), false()),
            (raw.regexp_match("^-?[0-9]+$"), by_text),
            else_=by_double,
        )

    def contains_literal(self, text: ColumnElement[Any], fragment: str) -> ColumnElement[bool]:
        return func.locate(cast(literal(fragment), BINARY), cast(text, BINARY)) > 0

    def insert_ignore(self, table: Table) -> Insert:
        return mysql_insert(table).prefix_with("IGNORE")

    def upsert(self, table: Table, keys: list[str], update: dict[str, Any]) -> Insert:
        return mysql_insert(table).on_duplicate_key_update(update)

    def is_unique_violation(self, error: DBAPIError) -> bool:
        return _errno(error) == _DUPLICATE_ENTRY

    def is_foreign_key_violation(self, error: DBAPIError) -> bool:
        return _errno(error) == _NO_PARENT_ROW

    def is_already_exists(self, error: DBAPIError) -> bool:
        return _errno(error) in _ALREADY_EXISTS

    def descending_index_columns(self, conn: Connection, table: str) -> set[tuple[str, str]]:
        rows = conn.execute(
            text(
                "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t AND COLLATION = 'D'"
            ),
            {"t": table},
        )
        return {(index, column) for index, column in rows}

    async def try_migration_lock(self, conn: AsyncConnection, wait_seconds: float) -> bool:
        got = await conn.scalar(
            func.get_lock(MIGRATION_LOCK_NAME, max(0, int(wait_seconds))).select()
        )
        await conn.commit()
        return bool(got == 1)

    async def release_migration_lock(self, conn: AsyncConnection) -> None:
        await conn.execute(func.release_lock(MIGRATION_LOCK_NAME).select())
        await conn.commit()
