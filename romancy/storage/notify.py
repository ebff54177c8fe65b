"""PostgreSQL LISTEN/NOTIFY: a listener on the shared channels.

The channel names and payload shapes are the peers' too: they live in
:mod:`romancy.wire.notify`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from romancy.tasks import cancel_and_wait
from romancy.wire.notify import CHANNELS

log = logging.getLogger("romancy.notify")


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
        await cancel_and_wait(self._task)

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
            except Exception as error:
                log.warning(
                    "LISTEN connection lost (%s); reconnecting in %g s",
                    error,
                    self._reconnect_delay,
                )
            self.connected.clear()
            await asyncio.sleep(self._reconnect_delay)
