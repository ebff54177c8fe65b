"""CloudEvents: waiting for them in workflows, ingesting them, sending them via the outbox.

* ``wait_event(ctx, event_type, timeout=…, type=…)`` — subscribe (broadcast) to the
  channel named after the event type and receive from it; a timeout raises
  :class:`~romancy.EventTimeoutError`. Events ingested by Edda (payload + ``ce_*``
  metadata) and by Go (the whole envelope as data) both read correctly.
* ``ingest_cloudevent(app, event)`` — what the HTTP endpoint does with an event: publish
  it to its channel (``romancyinstanceid`` targets ``"<type>:<id>"`` as Go does;
  ``eddainstanceid`` delivers only to that instance, as Edda does), and start the
  workflows registered as handlers of the type.
* ``send_event(ctx, type, source, data)`` — queue a CloudEvent in the transactional
  outbox; inside an activity it joins the activity's transaction.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from romancy import durations
from romancy import hooks as h
from romancy.channels import ChannelMode, receive, subscribe
from romancy.cloudevent import (
    EDDA_TARGET,
    JSON_CONTENT_TYPE,
    ROMANCY_TARGET,
    SPECVERSION,
    CloudEvent,
    check_attribute,
    check_event,
    event_channel,
)
from romancy.engine._context import WorkflowContext
from romancy.engine.messaging import publish_stored
from romancy.engine.runtime import RuntimeOwner
from romancy.engine.steps import write_once
from romancy.errors import ChannelMessageTimeoutError, EventTimeoutError
from romancy.serialization import dumps, from_json
from romancy.storage import Transaction
from romancy.wire import messages as wire
from romancy.wire.notify import OUTBOX_PENDING, outbox_payload

T = TypeVar("T")


@dataclass(frozen=True)
class ReceivedEvent(Generic[T]):
    """An event a workflow received (Go's ``ReceivedEvent[T]``)."""

    id: str
    type: str
    source: str
    data: T
    specversion: str = SPECVERSION
    time: datetime | None = None
    datacontenttype: str | None = None
    subject: str | None = None
    extensions: dict[str, Any] = field(default_factory=dict)


async def wait_event(
    ctx: WorkflowContext,
    event_type: str,
    *,
    type: Any = None,
    timeout: float | timedelta | None = None,
    event_id: str | None = None,
) -> ReceivedEvent[Any]:
    """Wait for a CloudEvent of ``event_type`` (durably: the workflow suspends).

    Subscribes in broadcast mode unless this workflow already subscribed to the type —
    subscribe in direct mode first to receive events targeted with ``romancyinstanceid``.
    """
    if not ctx.is_subscribed(event_type):
        await subscribe(ctx, event_type, ChannelMode.BROADCAST)
    started = time.monotonic()
    if not ctx.is_replaying:
        await h.emit(
            ctx.hooks.on_event_wait_start,
            h.EventWaitStartInfo(
                ctx.instance_id,
                ctx.workflow_name,
                event_type,
                None if timeout is None else timedelta(seconds=durations.seconds(timeout)),
            ),
        )
    try:
        message = await receive(ctx, event_type, timeout=timeout, activity_id=event_id)
    except ChannelMessageTimeoutError:
        raise EventTimeoutError(ctx.instance_id, event_type) from None
    event = wire.event_of_message(message.data, message.metadata) or CloudEvent(
        id=message.id, type=event_type, source="unknown", data=message.data
    )
    if not ctx.is_replaying:
        # The run that first reads the event (nothing recorded lies beyond it); later
        # replays read it again and must not report it again.
        await h.emit(
            ctx.hooks.on_event_wait_complete,
            h.EventWaitCompleteInfo(
                ctx.instance_id,
                ctx.workflow_name,
                event_type,
                timedelta(seconds=time.monotonic() - started),
            ),
        )
    data = from_json(event.data, type, what=f"event {event_type!r}") if type else event.data
    # Every attribute of the event, but ``data`` in the type asked for.
    attributes = {f.name: getattr(event, f.name) for f in fields(ReceivedEvent)}
    return ReceivedEvent(**(attributes | {"data": data}))


async def ingest_cloudevent(app: RuntimeOwner, event: CloudEvent) -> str:
    """Publish an incoming event to its channel and start its handler workflows.

    Returns the channel message id. An event that breaks the rules of
    :func:`romancy.cloudevent.check_event` raises :class:`~romancy.InvalidValueError`
    before anything is stored.
    """
    return (await receive_cloudevent(app, event)).message_id


@dataclass(frozen=True)
class EventReceipt:
    """What an ingested CloudEvent reached at once.

    ``delivered``: instances waiting for it that it was delivered into; ``started``: the
    handler workflow it started, if any. A subscriber that is busy when the event arrives
    takes it later and is not counted.
    """

    message_id: str
    delivered: tuple[str, ...]
    started: str | None


async def receive_cloudevent(app: RuntimeOwner, event: CloudEvent) -> EventReceipt:
    """:func:`ingest_cloudevent`, telling what the event reached (the HTTP answer's counts)."""
    check_event(event)
    data, metadata = wire.cloudevent_message(event)  # refuses oversized attributes
    runtime = app.engine
    romancy_target = event.extensions.get(ROMANCY_TARGET)
    edda_target = event.extensions.get(EDDA_TARGET)
    await h.emit(
        runtime.hooks.on_event_received,
        h.EventReceivedInfo(
            event.type, event.id, event.source, str(romancy_target or edda_target or "")
        ),
    )
    published = await publish_stored(
        runtime.storage,
        runtime.worker_id,
        event_channel(event),
        data,
        metadata,
        runtime,
        only_instance=str(edda_target) if edda_target else None,
        objects_only=False,
    )
    handler = runtime.workflow_named(event.type)
    started = None
    if handler is not None and handler.event_handler:
        started = await runtime.start(handler, event.data)
    return EventReceipt(published.message_id, published.delivered, started)


async def send_event(
    ctx: WorkflowContext,
    event_type: str,
    source: str,
    data: Any,
    *,
    event_id: str | None = None,
    content_type: str = JSON_CONTENT_TYPE,
) -> str:
    """Queue a CloudEvent in the outbox; returns its id.

    Inside an activity it joins the step's transaction (it is sent only if the step
    commits). From workflow code it is a recorded step of its own (never queued twice).
    The attributes obey the limits of :mod:`romancy.cloudevent`.
    """
    event_id = check_attribute("id", event_id or str(uuid.uuid4()))
    check_attribute("type", event_type)
    check_attribute("source", source)
    check_attribute("datacontenttype", content_type)
    payload = data if isinstance(data, bytes) else dumps(data, what=f"event {event_type!r}")
    storage = ctx.storage

    async def queue(tx: Transaction) -> str:
        await storage.outbox.add(event_id, event_type, source, payload, content_type, tx=tx)
        await storage.notify(OUTBOX_PENDING, outbox_payload(event_id, event_type), tx=tx)
        return event_id

    return await write_once(ctx, f"send_event_{event_type}", "send_event", queue, None)


#: Go names both; they do the same here (the outbox write is always transactional).
send_event_transactional = send_event
