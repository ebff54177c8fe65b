"""Names, ids and payload sizes: one rule on every backend, clear errors, exact matching.

MariaDB's default collation folds case, accents and trailing spaces, its VARCHAR(255)
columns truncate, PostgreSQL cannot store NUL in text: these cases pin that the API
gives the same answer everywhere (or, where the shared schema cannot hold a value, an
error that says so).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import romancy
from romancy import (
    App,
    ConfigurationError,
    DatabaseUnavailableError,
    InvalidValueError,
    WorkflowContext,
    WorkflowNotFoundError,
    WorkflowNotRegisteredError,
    parse_database_url,
)
from romancy.storage import Storage
from romancy.storage.tables import channel_messages, workflow_instances
from tests.support.fixtures import FAST_OPTIONS
from tests.support.proxy import Proxy

from .helpers import wait_for_status

LONG = "n" * 255  # the longest name the shared schema holds
TOO_LONG = "n" * 256


@romancy.workflow
async def nl_echo(ctx: WorkflowContext, value: object) -> object:
    return value


@romancy.workflow
async def nl_member(ctx: WorkflowContext, spec: dict[str, str]) -> object:
    await romancy.subscribe(ctx, spec["channel"])
    await romancy.join_group(ctx, spec["group"])
    message = await romancy.receive(ctx, spec["channel"], timeout=60)
    return message.data


@romancy.workflow
async def nl_two_channels(ctx: WorkflowContext, names: list[str]) -> str:
    for name in names:
        await romancy.subscribe(ctx, name)
    return "subscribed"


async def _count(storage: Storage, table: object) -> int:
    async with storage.transaction(read_only=True) as tx:
        return int(await tx.connection.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


async def _member(app: App, channel: str, group: str, instance_id: str | None = None) -> str:
    spec = {"channel": channel, "group": group}
    instance_id = await app.start_workflow(nl_member, spec, instance_id=instance_id)
    await wait_for_status(app, instance_id, "waiting_for_message")
    return instance_id


# ------------------------------------------------------------------ 4: NUL characters


async def test_nul_in_a_name_or_id_is_refused_before_the_database(app: App) -> None:
    with pytest.raises(InvalidValueError, match="instance id contains a NUL"):
        await app.start_workflow(nl_echo, 1, instance_id="id\x00x")
    with pytest.raises(InvalidValueError, match="channel name contains a NUL"):
        await romancy.publish(app, "ch\x00x", {"a": 1})
    with pytest.raises(InvalidValueError, match="group name contains a NUL"):
        await romancy.get_group_members(app, "g\x00x")
    with pytest.raises(InvalidValueError, match="instance id contains a NUL"):
        await app.get_instance("id\x00x")
    with pytest.raises(InvalidValueError, match="workflow name contains a NUL"):
        romancy.define_workflow("nl\x00flow", nl_echo.fn)
    failing = await _member_failure(app, {"channel": "ch\x00x", "group": "g"})
    assert "channel name contains a NUL" in failing
    failing = await _member_failure(app, {"channel": "nl-ok", "group": "g\x00x"})
    assert "group name contains a NUL" in failing
    assert await _count(app.storage, channel_messages) == 0


async def _member_failure(app: App, spec: dict[str, str]) -> str:
    instance_id = await app.start_workflow(nl_member, spec)
    with pytest.raises(romancy.WorkflowFailedError) as info:
        await app.wait_for_result(instance_id, timeout=20)
    assert info.value.error_type == "InvalidValueError"
    return info.value.error_message


async def test_nul_inside_json_values_is_stored_escaped_and_round_trips(app: App) -> None:
    value = {"text": "a\x00b", "nested": ["\x00"]}
    instance_id = await app.start_workflow(nl_echo, value)
    assert await app.wait_for_result(instance_id, timeout=20) == value
    member = await _member(app, "nl-nul-data", "nl-g")
    await romancy.publish(app, "nl-nul-data", value, metadata={"note": "x\x00y"})
    assert await app.wait_for_result(member, timeout=20) == value


# ------------------------------------------- 5: exact names under MariaDB's collation


@pytest.mark.parametrize(
    ("stored", "asked"),
    [("CaseTest", "casetest"), ("café", "cafe"), ("space ", "space")],
)
async def test_names_match_exactly_not_by_collation(app: App, stored: str, asked: str) -> None:
    member = await _member(app, f"ch-{stored}", f"g-{stored}", instance_id=f"id-{stored}")
    assert await romancy.get_group_members(app, f"g-{asked}") == []
    assert await romancy.get_group_members(app, f"g-{stored}") == [member]
    with pytest.raises(WorkflowNotFoundError):
        await app.get_instance(f"id-{asked}")
    await romancy.publish(app, f"ch-{asked}", {"to": "the other spelling"})
    await romancy.publish(app, f"ch-{stored}", {"to": "me"})
    assert await app.wait_for_result(member, timeout=20) == {"to": "me"}


async def test_an_id_the_primary_key_cannot_tell_apart_gets_a_clear_error(
    app: App, backend: object
) -> None:
    await app.start_workflow(nl_echo, 1, instance_id="id-CaseTest")
    if getattr(backend, "name") != "mysql":  # noqa: B009 - the key is exact there
        await app.start_workflow(nl_echo, 2, instance_id="id-casetest")
        return
    # MariaDB/MySQL: instance_id is the primary key, compared under the collation.
    with pytest.raises(InvalidValueError, match="cannot be stored next to 'id-CaseTest'"):
        await app.start_workflow(nl_echo, 2, instance_id="id-casetest")
    with pytest.raises(romancy.WorkflowAlreadyExistsError):
        await app.start_workflow(nl_echo, 3, instance_id="id-CaseTest")


async def test_one_instance_subscribing_to_two_spellings(app: App, backend: object) -> None:
    instance_id = await app.start_workflow(nl_two_channels, ["ch-Twin", "ch-twin"])
    if getattr(backend, "name") != "mysql":  # noqa: B009
        assert await app.wait_for_result(instance_id, timeout=20) == "subscribed"
        return
    with pytest.raises(romancy.WorkflowFailedError, match="cannot be stored next to 'ch-Twin'"):
        await app.wait_for_result(instance_id, timeout=20)


# ---------------------------------------------------------- 6: the 255-character bound


async def test_names_up_to_255_characters_work_and_longer_ones_are_refused(app: App) -> None:
    for call in (
        lambda: romancy.publish(app, TOO_LONG, {"a": 1}),
        lambda: romancy.get_group_members(app, TOO_LONG),
        lambda: app.start_workflow(nl_echo, 1, instance_id=TOO_LONG),
    ):
        with pytest.raises(InvalidValueError, match="256 characters long; the limit is 255"):
            await call()
    failing = await _member_failure(app, {"channel": TOO_LONG, "group": "g"})
    assert "channel name is 256 characters long" in failing
    failing = await _member_failure(app, {"channel": "nl-ok", "group": TOO_LONG})
    assert "group name is 256 characters long" in failing
    assert await _count(app.storage, channel_messages) == 0

    member = await _member(app, LONG, LONG, instance_id="i" * 255)
    assert await romancy.get_group_members(app, LONG) == [member]
    await romancy.publish(app, LONG, {"long": True})
    assert await app.wait_for_result(member, timeout=20) == {"long": True}


# ------------------------------------------------- 9: sizes and outages, clear errors


async def test_an_input_too_large_for_the_server_is_refused_whole(
    app: App, backend: object
) -> None:
    big = {"blob": "x" * 20_000_000}
    if getattr(backend, "name") != "mysql":  # noqa: B009 - no statement size limit
        instance_id = await app.start_workflow(nl_echo, big)
        assert await app.wait_for_result(instance_id, timeout=60) == big
        return
    with pytest.raises(InvalidValueError, match=r"input of workflow 'nl_echo'.*max_allowed_packet"):
        await app.start_workflow(nl_echo, big)
    with pytest.raises(InvalidValueError, match=r"message on channel 'nl-big'.*max_allowed_packet"):
        await romancy.publish(app, "nl-big", big)
    assert await _count(app.storage, workflow_instances) == 0
    assert await _count(app.storage, channel_messages) == 0


async def test_metadata_over_the_text_column_size_is_refused(app: App) -> None:
    limit = r"message metadata is \d+ bytes; the limit is 65535"
    with pytest.raises(InvalidValueError, match=limit):
        await romancy.publish(app, "nl-meta", {"a": 1}, metadata={"m": "x" * 70_000})
    assert await _count(app.storage, channel_messages) == 0


@pytest.mark.backends(
    "postgresql", "mysql", reason="SQLite has no server connection that can go away"
)
async def test_start_workflow_during_an_outage_raises_database_unavailable(
    storage: Storage,
) -> None:
    db = storage.url
    proxy = Proxy(db.url.host or "127.0.0.1", int(db.url.port or 0))
    await proxy.start()
    url = parse_database_url(db.original).url.set(port=proxy.port).render_as_string(False)
    app = App(database=url, **FAST_OPTIONS)
    await app.start()
    try:
        await proxy.cut()
        with pytest.raises(DatabaseUnavailableError, match="cannot connect to"):
            await app.start_workflow(nl_echo, 1)
        with pytest.raises(DatabaseUnavailableError):
            await app.get_instance("nl-any")
        with pytest.raises(DatabaseUnavailableError):
            await romancy.publish(app, "nl-outage", {"a": 1})
    finally:
        await proxy.restore()
        await app.shutdown()
        await proxy.cut()


# ------------------------------------------------------------------ 11: API arguments


async def test_start_workflow_takes_a_registered_name(app: App) -> None:
    instance_id = await app.start_workflow("nl_echo", {"by": "name"})
    assert await app.wait_for_result(instance_id, timeout=20) == {"by": "name"}
    with pytest.raises(WorkflowNotRegisteredError, match="'nl_nowhere' is not registered"):
        await app.start_workflow("nl_nowhere")


async def test_start_workflow_refuses_what_is_not_a_workflow_or_an_id(app: App) -> None:
    with pytest.raises(InvalidValueError, match=r"takes a workflow .* not function"):
        await app.start_workflow(nl_echo.fn)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="instance id must not be empty"):
        await app.start_workflow(nl_echo, 1, instance_id="")
    with pytest.raises(InvalidValueError, match="instance id must be a string, not int"):
        await app.start_workflow(nl_echo, 1, instance_id=123)  # type: ignore[arg-type]
    assert await _count(app.storage, workflow_instances) == 0


async def nl_other(ctx: WorkflowContext) -> str:
    return "other"


async def test_a_second_workflow_under_a_taken_name_is_refused(app: App) -> None:
    with pytest.raises(ConfigurationError, match="already defined as 'nl_echo'"):
        romancy.define_workflow("nl_echo", nl_other)
    with pytest.raises(ConfigurationError, match="already registered as 'nl_echo'"):
        app.register_workflow(romancy.Workflow("nl_echo", nl_other))
    # The same definition again (a module imported twice) is accepted.
    assert romancy.define_workflow("nl_echo", nl_echo.fn).same_definition(nl_echo)
    app.register_workflow(romancy.Workflow("nl_echo", nl_echo.fn))
    instance_id = await app.start_workflow("nl_echo", "first")
    assert await app.wait_for_result(instance_id, timeout=20) == "first"
