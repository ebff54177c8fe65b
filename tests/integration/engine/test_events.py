"""CloudEvents: wait_event, ingestion (both peers' targeting), handlers, both message shapes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

import romancy
from romancy import App, CloudEvent, WorkflowContext
from romancy.storage import Storage

from .helpers import wait_for_status


@dataclasses.dataclass
class Payment:
    order_id: str
    amount: float


@romancy.workflow
async def ev_waiter(ctx: WorkflowContext, spec: dict[str, object]) -> dict[str, object]:
    event = await romancy.wait_event(
        ctx, str(spec["type"]), timeout=spec.get("timeout"), type=Payment
    )  # type: ignore[arg-type]
    assert isinstance(event.data, Payment)
    return {
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "order": event.data.order_id,
        "subject": event.subject,
        "time": event.time.isoformat() if event.time else None,
        "ext": event.extensions,
    }


@romancy.workflow
async def ev_direct(ctx: WorkflowContext, event_type: str) -> object:
    await romancy.subscribe(ctx, event_type, romancy.ChannelMode.DIRECT)
    return (await romancy.receive(ctx, event_type)).data


@romancy.workflow
async def ev_late_waiter(ctx: WorkflowContext, event_type: str) -> str:
    await romancy.subscribe(ctx, event_type)
    await romancy.sleep(ctx, 1.0)  # events arrive while it is not waiting
    return (await romancy.wait_event(ctx, event_type)).id


@romancy.workflow(event_handler=True)
async def ev_order_created(ctx: WorkflowContext, order: dict[str, object]) -> str:
    return f"handled {order['order_id']}"


def _event(event_type: str, event_id: str = "evt-1", **extra: object) -> CloudEvent:
    return CloudEvent(
        id=event_id,
        type=event_type,
        source="tests",
        subject="s-1",
        time=datetime(2026, 1, 1, tzinfo=UTC),
        data={"order_id": "o-1", "amount": 5.0},
        extensions=dict(extra),
    )


async def test_wait_event_receives_an_ingested_event(app: App) -> None:
    instance_id = await app.start_workflow(ev_waiter, {"type": "payment.completed"})
    await wait_for_status(app, instance_id, "waiting_for_message")
    await romancy.ingest_cloudevent(app, _event("payment.completed", tenant="t1"))
    assert await app.wait_for_result(instance_id, timeout=20) == {
        "id": "evt-1",
        "type": "payment.completed",
        "source": "tests",
        "order": "o-1",
        "subject": "s-1",
        "time": "2026-01-01T00:00:00+00:00",
        "ext": {"tenant": "t1"},
    }


async def test_wait_event_timeout(app: App) -> None:
    instance_id = await app.start_workflow(ev_waiter, {"type": "never.happens", "timeout": 1})
    with pytest.raises(romancy.WorkflowFailedError) as info:
        await app.wait_for_result(instance_id, timeout=30)
    assert info.value.error_type == "EventTimeoutError"


async def test_targeting_extensions(app: App) -> None:
    # romancyinstanceid: Go's semantics, the per-instance channel "<type>:<id>".
    direct = await app.start_workflow(ev_direct, "approval")
    await wait_for_status(app, direct, "waiting_for_message")
    await romancy.ingest_cloudevent(app, _event("approval", romancyinstanceid=direct))
    assert await app.wait_for_result(direct, timeout=20) == {"order_id": "o-1", "amount": 5.0}
    # eddainstanceid: Edda's semantics, the plain channel, delivered only to that instance.
    chosen = await app.start_workflow(ev_waiter, {"type": "shipment"})
    other = await app.start_workflow(ev_waiter, {"type": "shipment"})
    for instance_id in (chosen, other):
        await wait_for_status(app, instance_id, "waiting_for_message")
    await romancy.ingest_cloudevent(app, _event("shipment", eddainstanceid=chosen))
    assert (await app.wait_for_result(chosen, timeout=20))["order"] == "o-1"
    assert (await app.get_instance(other)).status in ("waiting_for_message", "running")


async def test_event_handler_workflows_start_from_events(app: App) -> None:
    await romancy.ingest_cloudevent(app, _event("ev_order_created"))
    page = await app.find_instances_with_options(workflow_name="ev_order_created")
    (instance,) = page.instances
    assert await app.wait_for_result(instance.instance_id, timeout=20) == "handled o-1"


async def test_go_envelope_messages_read_as_events(app: App, storage: Storage) -> None:
    instance_id = await app.start_workflow(ev_waiter, {"type": "go.event"})
    await wait_for_status(app, instance_id, "waiting_for_message")
    # What Go Romancy's ingestion stores: the whole envelope as data, no metadata.
    envelope = (
        '{"id":"go-7","type":"go.event","source":"go-svc","specversion":"1.0",'
        '"time":"2026-02-03T04:05:06Z","data":{"order_id":"o-go","amount":1}}'
    )
    await storage.channels.insert_message("go.event", "m-go-7", "json", envelope, None, None)
    result = await app.wait_for_result(instance_id, timeout=30)
    assert (result["id"], result["source"], result["order"]) == ("go-7", "go-svc", "o-go")
    assert result["time"] == "2026-02-03T04:05:06+00:00"


async def test_an_event_targeted_elsewhere_is_passed_over_by_other_subscribers(
    app: App,
) -> None:
    # Edda leaves a targeted event on the plain channel (docs/compat.md): a broadcast
    # subscriber that finds it pending must not take another instance's event.
    instance_id = await app.start_workflow(ev_late_waiter, "invoice")
    await wait_for_status(app, instance_id, "waiting_for_timer")
    for extension in ("eddainstanceid", "romancyinstanceid"):
        await romancy.publish(
            app, "invoice", {"n": 1}, metadata=_edda_metadata(extension, "someone-else")
        )
    await wait_for_status(app, instance_id, "waiting_for_message", timeout=20)
    await romancy.ingest_cloudevent(app, _event("invoice", "evt-mine"))
    assert await app.wait_for_result(instance_id, timeout=20) == "evt-mine"


def _edda_metadata(extension: str, target: str) -> dict[str, object]:
    """What Edda's ingestion writes for an event carrying a targeting extension."""
    return {
        "ce_type": "invoice",
        "ce_source": "edda",
        "ce_id": f"evt-{extension}",
        "ce_extensions": {extension: target},
    }
