"""Driver errors as romancy errors: duplicates, transient failures, the activity session."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from romancy.errors import DatabaseUnavailableError, DuplicateRecordError
from romancy.storage import ActivitySession, Storage, is_transient

from .helpers import new_instance


async def _instance(storage: Storage) -> str:
    new = new_instance()
    await storage.instances.create_instance(new)
    return new.instance_id


async def test_second_history_row_of_a_step_is_a_duplicate_record(storage: Storage) -> None:
    iid = await _instance(storage)
    await storage.history.append_history(iid, "step:1", "ActivityCompleted", "1")
    with pytest.raises(DuplicateRecordError):
        await storage.history.append_history(iid, "step:1", "ActivityCompleted", "2")
    with pytest.raises(DuplicateRecordError):
        async with storage.transaction() as tx:
            await storage.history.append_history(iid, "step:1", "ActivityCompleted", "3", tx=tx)
    (row,) = await storage.history.load_history(iid)
    assert row.event_data == "1"


async def test_racing_writers_of_one_step_one_wins_the_rest_are_duplicates(
    storage: Storage,
) -> None:
    iid = await _instance(storage)
    outcomes = await asyncio.gather(
        *(
            storage.history.append_history(iid, "step:1", "ActivityCompleted", str(n))
            for n in range(6)
        ),
        return_exceptions=True,
    )
    assert outcomes.count(True) == 1
    assert all(isinstance(o, DuplicateRecordError) for o in outcomes if o is not True)


async def test_activity_session_records_the_step_with_its_own_sql(storage: Storage) -> None:
    iid = await _instance(storage)
    await storage.history.append_history(iid, "reserve:1", "ActivityCompleted", "true")
    session = ActivitySession(storage)
    count = await session.scalar(text("SELECT COUNT(*) FROM workflow_history"))
    assert count == 1 and session.started
    with pytest.raises(DuplicateRecordError):
        async with session.commit_scope() as tx:
            await storage.history.append_history(
                iid, "reserve:1", "ActivityCompleted", "again", tx=tx
            )


async def test_users_own_sql_keeps_the_driver_error(storage: Storage) -> None:
    """Only storage's own statements are translated: an activity's SQL raises as usual."""
    iid = await _instance(storage)
    await storage.history.append_history(iid, "step:1", "ActivityCompleted", "1")
    duplicate = text(
        "INSERT INTO workflow_history (instance_id, activity_id, event_type, data_type,"
        " event_data) VALUES (:i, 'step:1', 'ActivityCompleted', 'json', '2')"
    )
    with pytest.raises(IntegrityError):
        async with storage.transaction() as tx:
            await tx.connection.execute(duplicate, {"i": iid})
    session = ActivitySession(storage)
    with pytest.raises(IntegrityError):
        await session.execute(duplicate, {"i": iid})
    await session.rollback()


@pytest.mark.backends("postgresql", reason="only PostgreSQL defers a unique check to the commit")
async def test_duplicate_found_at_commit_is_a_duplicate_record(storage: Storage) -> None:
    async with storage.transaction() as tx:
        await tx.connection.execute(
            text(
                "CREATE TABLE app_codes (code TEXT,"
                " CONSTRAINT app_codes_unique UNIQUE (code) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    try:
        with pytest.raises(DuplicateRecordError):
            async with storage.transaction() as tx:
                await tx.connection.execute(text("INSERT INTO app_codes VALUES ('a'), ('a')"))
    finally:
        async with storage.transaction() as tx:
            await tx.connection.execute(text("DROP TABLE app_codes"))


async def test_transient_errors_are_the_databases_not_the_workflows(storage: Storage) -> None:
    iid = await _instance(storage)
    await storage.history.append_history(iid, "step:1", "ActivityCompleted", "1")
    try:
        await storage.history.append_history(iid, "step:1", "ActivityCompleted", "2")
    except DuplicateRecordError as error:
        assert not is_transient(error)
    with pytest.raises(DatabaseUnavailableError) as refused:
        await Storage.open("postgresql://nobody:secret@127.0.0.1:9/none")
    assert is_transient(refused.value)
    assert not is_transient(ConnectionError("raised by the workflow itself"))
