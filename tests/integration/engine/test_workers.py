"""Several workers on one database: leases, recovery, hand-over, foreign instances."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

import romancy
from romancy import App, WorkflowContext
from romancy.storage import NewInstance, Storage
from romancy.wire.notify import RESUMABLE
from tests.support.fixtures import FAST_OPTIONS

from ..storage.helpers import backdate, expire_instance_lock
from .helpers import eventually, history_ids, wait_for_status

started: set[str] = set()


@romancy.activity
async def wk_long(ctx: WorkflowContext, seconds: float) -> str:
    started.add(ctx.instance_id)
    await asyncio.sleep(seconds)
    return "slept"


@romancy.workflow
async def wk_flow(ctx: WorkflowContext, seconds: float) -> str:
    return await wk_long(ctx, seconds)


def _instance(
    workflow: str, *, framework: str = "romancy-py", locked_by: str | None = None
) -> NewInstance:
    return NewInstance(
        instance_id=str(uuid.uuid4()),
        workflow_name=workflow,
        source_hash="h",
        source_code="",
        owner_service="s",
        framework=framework,
        input_data="0.01",
        locked_by=locked_by,
    )


async def test_lease_is_renewed_while_a_long_activity_runs(app: App) -> None:
    instance_id = await app.start_workflow(wk_flow, 7.0)  # lease 9 s, renewed every 3 s
    await eventually(lambda: instance_id in started)
    first = (await app.get_instance(instance_id)).lock_expires_at
    await asyncio.sleep(4)
    second = (await app.get_instance(instance_id)).lock_expires_at
    assert first is not None and second is not None and second > first
    assert await app.wait_for_result(instance_id, timeout=20) == "slept"


async def test_expired_lock_of_a_dead_worker_is_recovered(app: App, storage: Storage) -> None:
    orphan = _instance("wk_flow", locked_by="crashed-worker")
    await storage.instances.create_instance(orphan)
    await expire_instance_lock(storage, orphan.instance_id)
    assert await app.wait_for_result(orphan.instance_id, timeout=30) == "slept"
    assert await history_ids(app, orphan.instance_id) == ["wk_long:1"]


async def test_unregistered_and_foreign_instances_are_left_alone(
    app: App, storage: Storage
) -> None:
    unknown = _instance("not_defined_here")
    edda_owned = _instance("wk_flow", framework="python")
    for instance in (unknown, edda_owned):
        await storage.instances.create_instance(instance)
    app.engine.resume_wakeup.set()
    await asyncio.sleep(1.5)
    for instance in (unknown, edda_owned):
        row = await app.get_instance(instance.instance_id)
        assert (row.status, row.locked_by) == ("running", None)
        assert await history_ids(app, instance.instance_id) == []


async def test_the_leader_fires_timers_of_workflows_another_service_defines(
    app: App, storage: Storage
) -> None:
    # Services that define different workflows share one database and one leader: the
    # leader records the expiry and hands the instance back, running and unlocked, to the
    # workers that define it (a worker of this App would resume it; none here does).
    elsewhere = _instance("defined_by_another_service")
    await storage.instances.create_instance(elsewhere)
    await storage.history.add_timer(
        elsewhere.instance_id, "sleep:1", datetime.now(UTC) - timedelta(seconds=1)
    )
    await storage.instances.update_instance(elsewhere.instance_id, status="waiting_for_timer")
    await eventually(lambda: app.is_leader, what="the App leads")
    await wait_for_status(app, elsewhere.instance_id, "running", timeout=10)
    row = await app.get_instance(elsewhere.instance_id)
    assert row.locked_by is None
    assert await history_ids(app, elsewhere.instance_id) == ["sleep:1"]
    assert await storage.history.find_due_timers("romancy-py", limit=10) == []


@pytest.mark.backends(
    "postgresql", reason="LISTEN/NOTIFY is a PostgreSQL feature; elsewhere polling finds them"
)
async def test_instances_handed_back_by_the_leader_are_announced(
    app: App, storage: Storage
) -> None:
    # A timer fired and a receive timed out for workflows this App does not define: the
    # workers that define them are woken at once instead of at their next poll.
    sleeping, receiving = _instance("sleeps_elsewhere"), _instance("receives_elsewhere")
    for instance in (sleeping, receiving):
        await storage.instances.create_instance(instance)
    await storage.history.add_timer(
        sleeping.instance_id, "sleep:1", datetime.now(UTC) - timedelta(seconds=1)
    )
    await storage.channels.subscribe(receiving.instance_id, "quiet", "broadcast")
    async with storage.transaction() as tx:
        await storage.channels.wait(receiving.instance_id, "quiet", "receive_quiet:1", 0, tx=tx)
    listener = await psycopg.AsyncConnection.connect(storage.url.libpq_url(), autocommit=True)
    announced: set[str] = set()

    async def listen() -> None:
        async for notice in listener.notifies():
            if notice.channel == RESUMABLE:
                announced.add(json.loads(notice.payload)["instance_id"])

    try:
        await listener.execute(f"LISTEN {RESUMABLE}")
        reader = asyncio.create_task(listen())
        await storage.instances.update_instance(sleeping.instance_id, status="waiting_for_timer")
        await storage.instances.update_instance(receiving.instance_id, status="waiting_for_message")
        await eventually(
            lambda: announced >= {sleeping.instance_id, receiving.instance_id},
            timeout=10,
            what="both hand-overs announced",
        )
    finally:
        reader.cancel()
        await listener.close()


async def test_instances_of_other_services_do_not_starve_ours(storage: Storage) -> None:
    # Older resumable instances of workflows defined elsewhere fill whole batches of the
    # resumption poll: a worker must still find its own.
    for _ in range(3):
        foreign = _instance("defined_by_another_service")
        await storage.instances.create_instance(foreign)
        await backdate(storage, foreign.instance_id, "updated_at", timedelta(hours=1))
    ours = _instance("wk_flow")
    await storage.instances.create_instance(ours)
    worker = App(database=storage.url.original, **{**FAST_OPTIONS, "max_workflows_per_batch": 2})
    await worker.start()
    try:
        assert await worker.wait_for_result(ours.instance_id, timeout=15) == "slept"
    finally:
        await worker.shutdown()


async def test_shutdown_hands_running_work_to_another_worker(app: App, storage: Storage) -> None:
    leaving = App(database=storage.url.original, shutdown_timeout=0.2, worker_id="leaving")
    await leaving.start()
    instance_id = await leaving.start_workflow(wk_flow, 2.0)
    await eventually(lambda: instance_id in started)
    await leaving.shutdown()
    row = await app.get_instance(instance_id)
    assert (row.status, row.locked_by) == ("running", None)
    assert await app.wait_for_result(instance_id, timeout=30) == "slept"
    assert (await app.get_instance(instance_id)).status == "completed"


async def test_one_leader_among_workers(app: App, storage: Storage) -> None:
    others = [App(database=storage.url.original, leader_heartbeat_interval=0.3) for _ in range(2)]
    for other in others:
        await other.start()
    try:
        await asyncio.sleep(1.0)
        assert [app.is_leader, *(o.is_leader for o in others)].count(True) == 1
        holder = await storage.locks.system_lock("romancy_py_leader")
        assert holder is not None and holder.lock_expires_at is not None
        assert holder.lock_expires_at > datetime.now(UTC)
    finally:
        for other in others:
            await other.shutdown()


async def test_a_second_start_is_refused(app: App) -> None:
    try:
        await app.start()
    except romancy.RomancyError as error:
        assert "already running" in str(error)
    else:
        raise AssertionError("start() twice must fail")


@romancy.workflow
async def wk_listener(ctx: WorkflowContext, channel: str) -> object:
    await romancy.subscribe(ctx, channel)
    return (await romancy.receive(ctx, channel)).data


async def test_a_waiter_sees_an_ending_reached_on_another_worker(
    app: App, storage: Storage
) -> None:
    # The run suspends here; the other worker's publish resumes and finishes it there.
    instance_id = await app.start_workflow(wk_listener, "wk-handoff")
    waiting = asyncio.create_task(app.wait_for_result(instance_id, timeout=20))
    await wait_for_status(app, instance_id, "waiting_for_message")
    async with App(database=storage.url.original, **FAST_OPTIONS, worker_id="other") as other:
        await romancy.publish(other, "wk-handoff", {"from": "other"})
        assert await asyncio.wait_for(waiting, 10) == {"from": "other"}


async def test_a_stopping_worker_leaves_no_leader_lease_behind(storage: Storage) -> None:
    # Stopping right after start cancels the first election, possibly after the database
    # granted the lease: it must be released all the same, or the next leader waits for
    # the whole lease (45 s by default) before timers and timeouts are handled again.
    for n in range(20):
        short_lived = App(database=storage.url.original, **FAST_OPTIONS, worker_id=f"brief-{n}")
        await short_lived.start()
        await asyncio.sleep(n * 0.001)
        await short_lived.shutdown()
        holder = await storage.locks.system_lock("romancy_py_leader")
        assert holder is None or holder.locked_by is None, holder


executions: dict[str, int] = {}


@romancy.activity
async def wk_counted(ctx: WorkflowContext, seconds: float) -> str:
    executions[ctx.instance_id] = executions.get(ctx.instance_id, 0) + 1
    await asyncio.sleep(seconds)
    return "done"


@romancy.workflow
async def wk_counted_flow(ctx: WorkflowContext, seconds: float) -> str:
    return await wk_counted(ctx, seconds)


async def test_runs_started_during_a_lease_renewal_keep_their_lock(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    # A renewal asks about the runs that exist when it starts; runs started while its
    # query is in flight are missing from the answer and must not be taken for lost.
    first = await app.start_workflow(wk_counted_flow, 0.5)
    await eventually(lambda: first in executions)
    renewal = asyncio.ensure_future(app.engine.renew_leases())
    starts = [app.start_workflow(wk_counted_flow, 0.2) for _ in range(10)]
    started_ids = [*await asyncio.gather(*starts), first]
    await renewal
    for instance_id in started_ids:
        assert await app.wait_for_result(instance_id, timeout=20) == "done"
    assert [executions[i] for i in started_ids] == [1] * len(started_ids)
    assert "lock lost" not in caplog.text
