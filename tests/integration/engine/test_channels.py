"""Channels between workflows: modes, waiting, timeouts, groups, publishing from outside."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import func, select

import romancy
from romancy import App, ChannelMode, WorkflowContext
from romancy.storage import Storage
from romancy.storage.tables import (
    channel_delivery_cursors,
    channel_messages,
    channel_subscriptions,
    outbox_events,
    workflow_group_memberships,
)

from .helpers import history, wait_for_status


@dataclasses.dataclass
class Order:
    order_id: str
    qty: int


@romancy.workflow
async def ch_listener(ctx: WorkflowContext, spec: dict[str, object]) -> list[object]:
    channel, mode, count = str(spec["channel"]), str(spec["mode"]), int(spec["count"])  # type: ignore[call-overload]
    await romancy.subscribe(ctx, channel, mode)
    got = []
    for _ in range(count):
        message = await romancy.receive(ctx, channel, timeout=spec.get("timeout"))  # type: ignore[arg-type]
        got.append(message.data)
    return got


@romancy.workflow
async def ch_typed(ctx: WorkflowContext, channel: str) -> dict[str, object]:
    await romancy.subscribe(ctx, channel)
    message = await romancy.receive(ctx, channel, type=Order)
    assert isinstance(message.data, Order)
    return {
        "order": message.data.order_id,
        "meta": message.metadata,
        "from": message.sender_instance_id,
    }


@romancy.workflow
async def ch_publisher(ctx: WorkflowContext, spec: dict[str, object]) -> str:
    message_id = await romancy.publish(ctx, str(spec["channel"]), spec["data"], metadata={"k": "v"})
    await romancy.sleep(ctx, 0.5)  # replay after this must not publish again
    return message_id


async def _start_waiting(app: App, spec: dict[str, object]) -> str:
    instance_id = await app.start_workflow(ch_listener, spec)
    await wait_for_status(app, instance_id, "waiting_for_message")
    return instance_id


async def _count(storage: Storage, table: object, **where: object) -> int:
    query = select(func.count()).select_from(table)  # type: ignore[arg-type]
    for column, value in where.items():
        query = query.where(getattr(table, "c")[column] == value)  # noqa: B009
    async with storage.transaction(read_only=True) as tx:
        return int(await tx.connection.scalar(query) or 0)


async def test_broadcast_reaches_every_subscriber_in_order(app: App) -> None:
    spec = {"channel": "news", "mode": "broadcast", "count": 2}
    first, second = await _start_waiting(app, spec), await _start_waiting(app, spec)
    await romancy.publish(app, "news", {"n": 1})
    await romancy.publish(app.storage, "news", {"n": 2})
    for instance_id in (first, second):
        assert await app.wait_for_result(instance_id, timeout=20) == [{"n": 1}, {"n": 2}]


async def test_broadcast_subscriber_sees_only_later_messages(app: App) -> None:
    await romancy.publish(app, "later", {"n": "before"})
    instance_id = await _start_waiting(app, {"channel": "later", "mode": "broadcast", "count": 1})
    await romancy.publish(app, "later", {"n": "after"})
    assert await app.wait_for_result(instance_id, timeout=20) == [{"n": "after"}]


async def test_competing_gives_each_message_to_one_consumer(app: App) -> None:
    spec = {"channel": "jobs", "mode": "competing", "count": 2}
    consumers = [await _start_waiting(app, spec) for _ in range(3)]
    sent = [{"job": n} for n in range(6)]
    for data in sent:
        await romancy.publish(app, "jobs", data)
    results = [await app.wait_for_result(c, timeout=20) for c in consumers]
    received = [item for result in results for item in result]
    assert sorted(r["job"] for r in received) == list(range(6))  # each exactly once
    assert await _count(app.storage, channel_messages, channel="jobs") == 0  # consumed: deleted


async def test_messages_published_before_receive_are_taken_at_once(app: App) -> None:
    instance_id = await app.start_workflow(ch_typed, "orders")
    await wait_for_status(app, instance_id, "waiting_for_message")
    publisher = await app.start_workflow(
        ch_publisher, {"channel": "orders", "data": {"order_id": "o-9", "qty": 2}}
    )
    result = await app.wait_for_result(instance_id, timeout=20)
    assert result == {
        "order": "o-9",
        "meta": {"source_instance_id": publisher, "k": "v"},
        "from": publisher,
    }
    message_id = await app.wait_for_result(publisher, timeout=20)
    steps = [r.activity_id for r in await history(app, publisher)]
    assert steps == ["publish_orders:1", "sleep:1"]  # replayed after the sleep, published once
    assert len(message_id) == 36


@romancy.workflow
async def ch_direct(ctx: WorkflowContext) -> object:
    await romancy.subscribe(ctx, "inbox", ChannelMode.DIRECT)
    return (await romancy.receive(ctx, "inbox")).data


@romancy.workflow
async def ch_sender(ctx: WorkflowContext, target: str) -> str:
    return await romancy.send_to(ctx, target, "inbox", {"hello": target})


async def test_direct_messages_reach_only_their_target(app: App) -> None:
    target, bystander = await app.start_workflow(ch_direct), await app.start_workflow(ch_direct)
    for instance_id in (target, bystander):
        await wait_for_status(app, instance_id, "waiting_for_message")
    async with app.storage.transaction(read_only=True) as tx:
        channels = set((await tx.connection.scalars(select(channel_subscriptions.c.channel))).all())
    assert channels == {f"inbox:{target}", f"inbox:{bystander}"}
    await app.start_workflow(ch_sender, target)
    assert await app.wait_for_result(target, timeout=20) == {"hello": target}
    assert (await app.get_instance(bystander)).status == "waiting_for_message"


async def test_receive_timeout(app: App) -> None:
    instance_id = await app.start_workflow(
        ch_listener, {"channel": "quiet", "mode": "broadcast", "count": 1, "timeout": 1}
    )
    with pytest.raises(romancy.WorkflowFailedError) as info:
        await app.wait_for_result(instance_id, timeout=30)
    assert info.value.error_type == "ChannelMessageTimeoutError"
    (timeout_row,) = [
        r for r in await history(app, instance_id) if r.event_type == "MessageTimeout"
    ]
    assert timeout_row.activity_id == "receive_quiet:1"


@romancy.workflow
async def ch_unsubscribed(ctx: WorkflowContext) -> None:
    await romancy.receive(ctx, "never-subscribed")


@romancy.workflow
async def ch_conflict(ctx: WorkflowContext, mode: str) -> str:
    try:
        await romancy.subscribe(ctx, "locked-mode", mode)
    except romancy.ChannelModeConflictError as error:
        return str(error)
    await romancy.sleep(ctx, 3600)
    return "subscribed"


async def test_errors_not_subscribed_and_mode_conflict(app: App) -> None:
    instance_id = await app.start_workflow(ch_unsubscribed)
    with pytest.raises(
        romancy.WorkflowFailedError, match="not subscribed to channel 'never-subscribed'"
    ):
        await app.wait_for_result(instance_id, timeout=20)
    holder = await app.start_workflow(ch_conflict, "competing")
    await wait_for_status(app, holder, "waiting_for_timer")
    other = await app.start_workflow(ch_conflict, "broadcast")
    assert await app.wait_for_result(other, timeout=20) == (
        "channel 'locked-mode' is already configured as 'competing' mode; "
        "cannot subscribe with 'broadcast' mode"
    )


@romancy.workflow
async def ch_member(ctx: WorkflowContext, group: str) -> None:
    await romancy.join_group(ctx, group)
    await romancy.subscribe(ctx, f"{group}-feed")
    await romancy.receive(ctx, f"{group}-feed")


async def test_groups_and_cleanup_when_the_workflow_ends(app: App) -> None:
    members = [await app.start_workflow(ch_member, "crew") for _ in range(2)]
    for instance_id in members:
        await wait_for_status(app, instance_id, "waiting_for_message")
    assert sorted(await romancy.get_group_members(app, "crew")) == sorted(members)
    await romancy.publish(app, "crew-feed", {"go": True})
    for instance_id in members:
        await app.wait_for_result(instance_id, timeout=20)
    assert await romancy.get_group_members(app, "crew") == []
    for table in (channel_subscriptions, channel_delivery_cursors, workflow_group_memberships):
        assert await _count(app.storage, table) == 0


async def test_publish_from_a_database_url(app: App) -> None:
    instance_id = await _start_waiting(app, {"channel": "ext", "mode": "broadcast", "count": 1})
    await romancy.publish(app.storage.url.original, "ext", {"from": "cli"})
    assert await app.wait_for_result(instance_id, timeout=30) == [{"from": "cli"}]


async def test_a_missed_wake_up_is_recovered(app: App) -> None:
    instance_id = await _start_waiting(app, {"channel": "lost", "mode": "broadcast", "count": 1})
    # A message inserted without waking anyone, as a crashed publisher would leave it.
    await app.storage.channels.insert_message("lost", "m-lost", "json", '{"n": 1}', None, None)
    assert await app.wait_for_result(instance_id, timeout=30) == [{"n": 1}]


async def test_payload_must_be_an_object(app: App) -> None:
    with pytest.raises(romancy.ConfigurationError, match="must be a JSON object"):
        await romancy.publish(app, "x", [1, 2])


async def test_old_messages_are_cleaned_up(app: App) -> None:
    await romancy.publish(app, "old", {"n": 1})
    assert await app.storage.channels.delete_older_than(-60) == 1  # everything is "old"
    assert await _count(app.storage, channel_messages) == 0


async def test_concurrent_competing_consumers_under_load(app: App) -> None:
    spec = {"channel": "load", "mode": "competing", "count": 10}
    consumers = [await _start_waiting(app, spec) for _ in range(4)]
    await asyncio.gather(*(romancy.publish(app, "load", {"n": n}) for n in range(40)))
    results = [await app.wait_for_result(c, timeout=60) for c in consumers]
    assert sorted(item["n"] for result in results for item in result) == list(range(40))


@romancy.workflow
async def ch_bytes(ctx: WorkflowContext, channel: str) -> list[str]:
    await romancy.subscribe(ctx, channel)
    message = await romancy.receive(ctx, channel)
    await romancy.sleep(ctx, 0.2)  # the result below is computed again on replay
    assert isinstance(message.data, bytes), message.data
    return [message.data.hex()]


async def test_binary_messages_stay_bytes_when_delivered_and_on_replay(app: App) -> None:
    # Waiting first: the publisher delivers into the waiting instance (lock-first), and
    # the workflow reads the message back from history, as it does on every replay.
    waiting = await app.start_workflow(ch_bytes, "blobs")
    await wait_for_status(app, waiting, "waiting_for_message")
    await romancy.publish(app, "blobs", b"\x00\xffraw")
    assert await app.wait_for_result(waiting, timeout=20) == ["00ff726177"]


@romancy.activity
async def ch_publish_in_step(ctx: WorkflowContext, channel: str, fail: bool) -> str:
    message_id = await romancy.publish(ctx, channel, {"from": "activity"})
    await romancy.send_event(ctx, "audit.published", "tests", {"channel": channel})
    if fail:
        raise romancy.TerminalError("rolled back with the step")
    return message_id


@romancy.activity(transactional=False)
async def ch_publish_untransacted(ctx: WorkflowContext, channel: str) -> str:
    await romancy.send_event(ctx, "audit.published", "tests", {"channel": channel})
    return await romancy.publish(ctx, channel, {"from": "plain activity"})


@romancy.workflow
async def ch_activity_publisher(ctx: WorkflowContext, spec: dict[str, object]) -> list[str]:
    channel, fail = str(spec["channel"]), bool(spec["fail"])
    ids = [await ch_publish_untransacted(ctx, channel)]
    try:
        ids.append(await ch_publish_in_step(ctx, channel, fail))
    except romancy.TerminalError:
        ids.append("rolled back")
    await romancy.sleep(ctx, 0.2)  # resumed by replay: the publishes must not be steps
    return ids


@pytest.mark.parametrize("fail", [False, True], ids=["commits", "rolls-back"])
async def test_publishing_from_an_activity_belongs_to_the_activity(app: App, fail: bool) -> None:
    count = 1 if fail else 2
    listener = await _start_waiting(app, {"channel": "act", "mode": "broadcast", "count": count})
    publisher = await app.start_workflow(ch_activity_publisher, {"channel": "act", "fail": fail})
    ids = await app.wait_for_result(publisher, timeout=20)
    got = await app.wait_for_result(listener, timeout=20)
    expected = [{"from": "plain activity"}] + ([] if fail else [{"from": "activity"}])
    assert got == expected
    assert (ids[1] == "rolled back") is fail
    assert await _count(app.storage, channel_messages, channel="act") == count
    # The events queued in the rolled-back step went with it.
    assert await _count(app.storage, outbox_events) == count
    # Only the activities and the timer are steps of the workflow.
    steps = [r.activity_id for r in await history(app, publisher)]
    assert steps == ["ch_publish_untransacted:1", "ch_publish_in_step:1", "sleep:1"]


async def test_a_message_that_arrives_as_the_wait_is_recorded_is_taken_at_once(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The window between receive's look for a pending message and its wait going on
    # record: the publisher finds no waiter, the run delivers the message to itself on
    # suspending, and must then go on without waiting for a resumption poll (30 s here).
    app = App(
        database=storage.url.original,
        workflow_resumption_interval=30,
        message_check_interval=30,
        leader_heartbeat_interval=0.5,
    )
    look = romancy.channels.take_pending
    raced: list[str] = []

    async def look_then_publish(*args: object) -> object:
        found = await look(*args)  # type: ignore[arg-type]
        if found is None and not raced:
            raced.append(await romancy.publish(app, "window", {"n": 1}))
        return found

    monkeypatch.setattr(romancy.channels, "take_pending", look_then_publish)
    async with app:
        spec = {"channel": "window", "mode": "broadcast", "count": 1}
        instance_id = await app.start_workflow(ch_listener, spec)
        assert await app.wait_for_result(instance_id, timeout=10) == [{"n": 1}]
    assert raced
