"""Timer subscriptions and the compensation stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from romancy.storage import Storage

from .helpers import new_instance


async def test_due_timers_of_waiting_instances_only(storage: Storage) -> None:
    past = datetime.now(UTC) - timedelta(seconds=5)
    future = datetime.now(UTC) + timedelta(hours=1)
    waiting, running, edda = new_instance(), new_instance(), new_instance(framework="python")
    for instance in (waiting, running, edda):
        await storage.instances.create_instance(instance)
        await storage.history.add_timer(
            instance.instance_id, "sleep:1", past, activity_id="sleep:1"
        )
    await storage.history.add_timer(waiting.instance_id, "sleep:2", future)
    for instance in (waiting, edda):
        await storage.instances.update_instance(instance.instance_id, status="waiting_for_timer")
    due = await storage.history.find_due_timers("romancy-py", limit=10)
    assert [(t.instance_id, t.timer_id, t.workflow_name) for t in due] == [
        (waiting.instance_id, "sleep:1", "order_workflow")
    ]
    assert abs(due[0].expires_at - past) < timedelta(seconds=1)


async def test_timer_ids_are_unique_per_instance(storage: Storage) -> None:
    new = new_instance()
    await storage.instances.create_instance(new)
    when = datetime.now(UTC)
    assert await storage.history.add_timer(new.instance_id, "sleep:1", when)
    assert not await storage.history.add_timer(new.instance_id, "sleep:1", when)
    assert await storage.history.add_timer(new.instance_id, "sleep:2", when)
    assert await storage.history.delete_timers(new.instance_id, "sleep:1") == 1
    assert await storage.history.delete_timers(new.instance_id) == 1


async def test_compensations_come_back_most_recent_first(storage: Storage) -> None:
    new = new_instance()
    await storage.instances.create_instance(new)
    ids = [
        await storage.history.add_compensation(new.instance_id, f"{name}:1", name, f'["{name}"]')
        for name in ("reserve", "charge", "ship")
    ]
    stack = await storage.history.list_compensations(new.instance_id)
    assert [c.activity_name for c in stack] == ["ship", "charge", "reserve"]
    assert [c.id for c in stack] == ids[::-1]
    assert stack[0].args == '["ship"]'
    assert await storage.history.delete_compensations(new.instance_id) == 3
    assert await storage.history.list_compensations(new.instance_id) == []
