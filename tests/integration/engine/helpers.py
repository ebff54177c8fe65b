"""Shared helpers for engine tests."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from romancy import App
from romancy.storage import HistoryRecord
from romancy.storage.tables import workflow_timer_subscriptions as timers


async def eventually(check: Callable[[], object], timeout: float = 20, what: str = "") -> None:
    """Poll ``check`` (sync or async) until it is truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")


async def wait_for_status(app: App, instance_id: str, *statuses: str, timeout: float = 20) -> str:
    """Poll until the instance reaches one of ``statuses``; returns it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (status := (await app.get_instance(instance_id)).status) not in statuses:
        assert loop.time() < deadline, f"{instance_id} is {status}, never reached {statuses}"
        await asyncio.sleep(0.05)
    return status


async def wait_for_activity(
    app: App, instance_id: str, activity_id: str, timeout: float = 20
) -> None:
    """Poll until the instance waits at ``activity_id`` (its ``current_activity_id``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await app.get_instance(instance_id)).current_activity_id != activity_id:
        assert loop.time() < deadline, f"{instance_id} never waited at {activity_id}"
        await asyncio.sleep(0.05)


async def history(app: App, instance_id: str) -> list[HistoryRecord]:
    return await app.storage.history.load_history(instance_id)


async def history_ids(app: App, instance_id: str) -> list[str]:
    return [r.activity_id for r in await history(app, instance_id)]


async def make_timers_due(app: App, instance_id: str) -> None:
    """Move an instance's timers into the past and wake the leader's timer check."""
    async with app.storage.transaction() as tx:
        await tx.connection.execute(
            update(timers)
            .where(timers.c.instance_id == instance_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=5))
        )
    app.engine.timers.wakeup.set()
