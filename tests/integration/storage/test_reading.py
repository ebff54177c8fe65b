"""Reading for the CLI: a database error becomes one line naming the database."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from romancy.errors import DatabaseUnavailableError
from romancy.storage import Storage
from romancy.storage.reading import explained

#: Statements after which each server refuses with an error whose message is empty.
_EMPTY_MESSAGE_ERROR = {
    "sqlite": (
        "CREATE TEMP TABLE probe (x INTEGER)",
        "CREATE TEMP TRIGGER probe_refuses BEFORE INSERT ON probe"
        " BEGIN SELECT RAISE(ABORT, ''); END",
        "INSERT INTO probe VALUES (1)",
    ),
    "postgresql": ("DO $$ BEGIN RAISE EXCEPTION USING MESSAGE = ''; END $$",),
    "mysql": ("SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = ''",),
}


async def test_a_driver_error_without_a_message_is_named_by_its_type(storage: Storage) -> None:
    async def query() -> None:
        async with storage.transaction() as tx:
            for statement in _EMPTY_MESSAGE_ERROR[storage.url.dialect]:
                await tx.connection.execute(text(statement))

    with pytest.raises(DatabaseUnavailableError) as refused:
        await explained(storage, query)
    # Named by the driver error's class: not a crash, a context line or an errno tuple.
    driver = type(getattr(refused.value.__context__, "orig", None)).__name__
    assert str(refused.value) == (
        f"cannot read workflow instances from {storage.url.redacted}: {driver} "
        "(is the schema migrated? see `romancy migrate status`)"
    )


async def test_a_missing_table_is_one_line_naming_it(storage: Storage) -> None:
    async def query() -> None:
        async with storage.transaction() as tx:
            await tx.connection.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(DatabaseUnavailableError) as refused:
        await explained(storage, query, "the report")
    message = str(refused.value)
    assert message.startswith(f"cannot read the report from {storage.url.redacted}: ")
    assert "no_such_table" in message and "\n" not in message
