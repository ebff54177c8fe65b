"""Sends queued outbox events to the broker as CloudEvents over HTTP.

Each pass claims a batch (``processing``; see ``romancy.storage.outbox``), POSTs every
event, and records the outcome: 2xx → ``published``; 4xx (but 408/429) → ``invalid``,
never retried; anything else → retried with backoff, ``failed`` after
``outbox_max_retries`` attempts. Binary content mode by default (``ce-*`` headers, the
data as the body, as Go Romancy sends); structured mode on request
(``application/cloudevents+json``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random

import httpx

from romancy.cloudevent_http import header_value
from romancy.config import AppConfig
from romancy.engine.cancellation import sleep_or_wake
from romancy.serialization import format_time
from romancy.storage import OutboxRecord, Storage
from romancy.tasks import cancel_and_wait

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
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("outbox pass failed: %s", error)
                sent = 0
            if sent:
                idle = 0
                continue
            idle += 1
            pause = min(self._config.outbox_interval * 2 ** min(idle - 1, 5), MAX_IDLE)
            await sleep_or_wake(pause * random.uniform(1.0, 1.3), self.wakeup)

    async def _deliver(self, event: OutboxRecord) -> None:
        outbox = self._storage.outbox
        try:
            content, headers = self._request(event)
            response = await self._client.post(
                self._config.broker_url, content=content, headers=headers
            )
        except httpx.HTTPError as error:
            await self._failed(event, f"{type(error).__name__}: {error}")
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

    def _request(self, event: OutboxRecord) -> tuple[bytes, dict[str, str]]:
        """Body and headers of the CloudEvent POST (binary or structured mode)."""
        attributes = {
            "specversion": "1.0",
            "id": event.event_id,
            "source": event.event_source,
            "type": event.event_type,
            "time": format_time(event.created_at),
        }
        body: bytes = (
            event.event_data_binary
            if event.data_type == "binary" and event.event_data_binary is not None
            else (event.event_data or "").encode("utf-8")
        )
        content_type = event.content_type or "application/json"
        if not self._config.outbox_structured:
            headers = {f"ce-{name}": header_value(value) for name, value in attributes.items()}
            headers["content-type"] = content_type
            return body, headers
        envelope: dict[str, object] = {**attributes, "datacontenttype": content_type}
        if event.data_type == "binary":
            envelope["data_base64"] = base64.b64encode(body).decode("ascii")
        elif body:
            envelope["data"] = json.loads(body) if "json" in content_type else body.decode("utf-8")
        encoded = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
        return encoded, {"content-type": "application/cloudevents+json"}
