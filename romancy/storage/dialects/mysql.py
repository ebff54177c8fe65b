"""MySQL and MariaDB: aiomysql (PyMySQL), sessions at +00:00, GET_LOCK for migrations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Integer,
    Table,
    and_,
    cast,
    event,
    func,
    literal,
    literal_column,
    text,
    type_coerce,
)
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Insert

from romancy.storage.dialects.base import (
    MIGRATION_LOCK_NAME,
    Dialect,
    JsonScalar,
    driver_error,
    quoted_json_path,
)
from romancy.storage.urls import DatabaseURL

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

    def json_match(
        self, column: ColumnElement[Any], keys: list[str], value: JsonScalar
    ) -> ColumnElement[bool]:
        extracted = func.json_extract(column, quoted_json_path(keys))
        kind = func.json_type(extracted)
        text_value = func.json_unquote(extracted)
        if value is None:
            return kind == "NULL"
        if isinstance(value, bool):
            return and_(kind == "BOOLEAN", text_value == ("true" if value else "false"))
        if isinstance(value, str):
            return and_(kind == "STRING", text_value == value)
        number = type_coerce(text_value, Float) + 0
        return and_(kind.in_(["INTEGER", "DOUBLE", "DECIMAL", "UNSIGNED INTEGER"]), number == value)

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
