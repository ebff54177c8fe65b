"""PostgreSQL LISTEN/NOTIFY: the four shared channel names, payloads, and a listener.

Notifications are hints: every consumer (ours and the peers') also polls. Payloads carry
both peers' key styles (docs/compat.md, NOTIFY payloads), so Edda's and Go's listeners read
them as their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("romancy.notify")

RESUMABLE = "workflow_resumable"
TIMER_EXPIRED = "workflow_timer_expired"
CHANNEL_MESSAGE = "workflow_channel_message"
OUTBOX_PENDING = "workflow_outbox_pending"
CHANNELS = (RESUMABLE, TIMER_EXPIRED, CHANNEL_MESSAGE, OUTBOX_PENDING)


def resumable_payload(instance_id: str, workflow_name: str) -> str:
    return _compact(
        {
            "wf_id": instance_id,
            "wf_name": workflow_name,
            "instance_id": instance_id,
            "workflow_name": workflow_name,
        }
    )


def channel_message_payload(channel: str, message_id: str) -> str:
    return _compact(
        {
            "ch": channel,
            "msg_id": message_id,
            "channel": channel,
            "channel_name": channel,
            "message_id": message_id,
        }
    )


def outbox_payload(event_id: str, event_type: str) -> str:
    return _compact({"evt_id": event_id, "evt_type": event_type, "event_id": event_id})


def timer_payload(instance_id: str, timer_id: str, expires_at: str) -> str:
    return _compact({"instance_id": instance_id, "timer_id": timer_id, "expires_at": expires_at})


def _compact(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Listener:
    """LISTENs on the shared channels over its own connection; calls ``on_notify(name)``.

    A lost connection is re-opened after ``reconnect_delay`` seconds; meanwhile (and
    always) polling keeps everything working.
    """

    def __init__(
        self,
        conninfo: str,
        on_notify: Callable[[str, str], None],
        reconnect_delay: float,
        *,
        application_name: str = "romancy-listener",
    ) -> None:
        self._conninfo = conninfo
        #: Shown in ``pg_stat_activity``: tells operators whose connection this is.
        self.application_name = application_name
        self._on_notify = on_notify
        self._reconnect_delay = reconnect_delay
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="romancy:listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, application_name=self.application_name
                ) as conn:
                    for name in CHANNELS:
                        await conn.execute(f"LISTEN {name}")  # fixed names, never user input
                    self.connected.set()
                    async for notice in conn.notifies():
                        self._on_notify(notice.channel, notice.payload)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "LISTEN connection lost (%s); reconnecting in %g s",
                    error,
                    self._reconnect_delay,
                )
            self.connected.clear()
            await asyncio.sleep(self._reconnect_delay)
