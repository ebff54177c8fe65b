"""Sends queued outbox events to the broker as CloudEvents over HTTP.

Each pass claims a batch (``processing``; see ``romancy.storage.outbox``), POSTs every
event, and records the outcome: 2xx → ``published``; 4xx (but 408/425/429) → ``invalid``,
never retried; anything else → retried with backoff, ``failed`` after
``outbox_max_retries`` attempts. Binary content mode by default (``ce-*`` headers, the
data as the body, as Go Romancy sends); structured mode on request
(``application/cloudevents+json``). An event whose stored data is not the JSON its
content type claims cannot be sent in structured mode: it becomes ``invalid`` at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from romancy.cloudevent import JSON_CONTENT_TYPE, CloudEvent
from romancy.cloudevent_http import is_json, media_type, to_binary, to_structured
from romancy.config import AppConfig
from romancy.durations import jittered
from romancy.engine.cancellation import sleep_or_wake
from romancy.errors import MalformedJSONError, describe
from romancy.jsontext import parse_json
from romancy.storage import OutboxRecord, Storage
from romancy.tasks import cancel_and_wait
from romancy.wire.status import DataType

log = logging.getLogger("romancy.outbox")

#: Longest idle pause between passes (the adaptive backoff's ceiling).
MAX_IDLE = 30.0
_RETRYABLE_4XX = {408, 425, 429}


class OutboxRelayer:
    """Drains the outbox of one database to one broker."""

    def __init__(
        self, storage: Storage, config: AppConfig, *, client: httpx.AsyncClient | None = None
    ) -> None:
        self._storage = storage
        self._config = config
        self._client = client or httpx.AsyncClient(timeout=30.0)
        self._owns_client = client is None
        self.wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="romancy:outbox")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        if self._owns_client:
            await self._client.aclose()

    async def relay_once(self) -> int:
        """One pass: claim a batch and send it; returns how many events were claimed."""
        claimed = await self._storage.outbox.claim(
            self._config.outbox_batch_size, self._config.outbox_claim_timeout
        )
        await asyncio.gather(*(self._deliver(event) for event in claimed))
        return len(claimed)

    async def _run(self) -> None:
        idle = 0
        while True:
            try:
                sent = await self.relay_once()
            except Exception as error:
                log.warning("outbox pass failed: %s", error)
                sent = 0
            if sent:
                idle = 0
                continue
            idle += 1
            pause = min(self._config.outbox_interval * 2 ** min(idle - 1, 5), MAX_IDLE)
            await sleep_or_wake(jittered(pause, 1.0, 1.3), self.wakeup)

    async def _deliver(self, event: OutboxRecord) -> None:
        outbox = self._storage.outbox
        try:
            headers, content = self._request(event)
        except MalformedJSONError as error:
            # The stored data does not match its content type: no retry can send it.
            await outbox.invalid(event.event_id, describe(error))
            return
        try:
            response = await self._client.post(
                self._config.broker_url, content=content, headers=headers
            )
        except httpx.HTTPError as error:
            await self._failed(event, describe(error))
            return
        if response.is_success:
            await outbox.published(event.event_id)
        elif 400 <= response.status_code < 500 and response.status_code not in _RETRYABLE_4XX:
            await outbox.invalid(
                event.event_id, f"HTTP {response.status_code}: {response.text[:500]}"
            )
        else:
            await self._failed(event, f"HTTP {response.status_code}: {response.text[:500]}")

    async def _failed(self, event: OutboxRecord, error: str) -> None:
        give_up = event.retry_count + 1 >= self._config.outbox_max_retries
        log.warning(
            "outbox event %s not sent (%s)%s",
            event.event_id,
            error,
            "; giving up" if give_up else "",
        )
        await self._storage.outbox.retry_later(event.event_id, error, give_up=give_up)

    def _request(self, event: OutboxRecord) -> tuple[dict[str, str], bytes]:
        """Headers and body of the CloudEvent POST (binary or structured mode)."""
        binary = event.data_type == DataType.BINARY
        raw: bytes = (
            event.event_data_binary
            if binary and event.event_data_binary is not None
            else (event.event_data or "").encode("utf-8")
        )
        content_type = event.content_type or JSON_CONTENT_TYPE
        data: Any = raw  # binary mode: the stored data as it is
        if self._config.outbox_structured and not binary:
            data = _structured_data(raw, content_type)
        cloud_event = CloudEvent(
            id=event.event_id,
            type=event.event_type,
            source=event.event_source,
            time=event.created_at,
            datacontenttype=content_type,
            data=data,
        )
        return (to_structured if self._config.outbox_structured else to_binary)(cloud_event)


def _structured_data(raw: bytes, content_type: str) -> Any:
    """Stored text as a structured envelope's ``data``: parsed when its type is JSON."""
    if not raw:
        return None
    if is_json(content_type):
        return parse_json(raw, what=f"the event data ({media_type(content_type)})")
    return raw.decode("utf-8")
