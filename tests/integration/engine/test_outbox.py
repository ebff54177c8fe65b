"""The transactional outbox and its relayer, against a real local HTTP broker."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

import romancy
from romancy import App, AppConfig, WorkflowContext
from romancy.errors import InvalidValueError, OutboxEventNotFoundError
from romancy.outbox import OutboxRelayer
from romancy.storage import OutboxEntry, Storage
from romancy.storage.tables import outbox_events
from tests.support.http import Broker, serving

from .helpers import eventually, history


@romancy.activity(retry_policy=romancy.RetryPolicy.no_retry())
async def ob_book(ctx: WorkflowContext, fail: bool) -> str:
    await romancy.send_event(ctx, "booking.made", "tests", {"fail": fail})
    if fail:
        raise romancy.TerminalError("rolled back with its event")
    return "booked"


@romancy.workflow
async def ob_flow(ctx: WorkflowContext, fail: bool) -> str:
    event_id = await romancy.send_event(ctx, "flow.started", "tests", {"x": 1})
    await romancy.sleep(ctx, 0.2)  # replayed after this: the event is not queued twice
    try:
        return f"{await ob_book(ctx, fail)} {len(event_id)}"
    except romancy.TerminalError:
        return "failed"


async def _statuses(storage: Storage) -> Counter[str]:
    async with storage.transaction(read_only=True) as tx:
        rows = await tx.connection.execute(select(outbox_events.c.status))
        return Counter(row[0] for row in rows)


def _config(storage: Storage, url: str, **options: object) -> AppConfig:
    return AppConfig(database=storage.url.original, broker_url=url, outbox_enabled=True, **options)  # type: ignore[arg-type]


async def test_events_are_queued_with_their_step(app: App) -> None:
    ok = await app.start_workflow(ob_flow, False)
    bad = await app.start_workflow(ob_flow, True)
    assert await app.wait_for_result(ok, timeout=20) == "booked 36"
    assert await app.wait_for_result(bad, timeout=20) == "failed"
    async with app.storage.transaction(read_only=True) as tx:
        types = Counter(
            row[0] for row in await tx.connection.execute(select(outbox_events.c.event_type))
        )
    # One "flow.started" per workflow (not repeated by the replay after the sleep); one
    # "booking.made" only: the failed activity's event rolled back with it.
    assert types == Counter({"flow.started": 2, "booking.made": 1})
    assert "send_event_flow.started:1" in [r.activity_id for r in await history(app, ok)]


async def test_relayer_sends_binary_and_structured_cloudevents(storage: Storage) -> None:
    broker = Broker()
    await storage.outbox.add("e-bin", "order.created", "shop", '{"n": 1}', "application/json")
    async with serving(broker) as url:
        await OutboxRelayer(storage, _config(storage, url)).relay_once()
        await storage.outbox.add("e-str", "order.updated", "shop", '{"n": 2}', "application/json")
        await OutboxRelayer(storage, _config(storage, url, outbox_structured=True)).relay_once()
    (binary_headers, binary_body), (structured_headers, structured_body) = broker.requests
    assert binary_headers["ce-id"] == "e-bin" and binary_headers["ce-type"] == "order.created"
    assert binary_headers["ce-specversion"] == "1.0" and binary_headers["ce-source"] == "shop"
    assert binary_headers["content-type"] == "application/json"
    assert json.loads(binary_body) == {"n": 1}
    assert structured_headers["content-type"] == "application/cloudevents+json"
    envelope = json.loads(structured_body)
    assert (envelope["id"], envelope["type"], envelope["data"]) == (
        "e-str",
        "order.updated",
        {"n": 2},
    )
    assert await _statuses(storage) == Counter({"published": 2})


async def test_failures_retry_with_backoff_then_fail_and_4xx_is_invalid(storage: Storage) -> None:
    broker = Broker(statuses=[400, 503])
    for event_id in ("e-bad", "e-flaky"):
        await storage.outbox.add(event_id, "t", "s", "{}", "application/json")
    async with serving(broker) as url:
        relayer = OutboxRelayer(storage, _config(storage, url, outbox_max_retries=2))
        assert await relayer.relay_once() == 2
        assert await relayer.relay_once() == 0  # the failed one backs off before its retry
        await _backdate(storage)
        broker.statuses = [503]
        assert await relayer.relay_once() == 1
    async with storage.transaction(read_only=True) as tx:
        rows = dict(
            (
                await tx.connection.execute(
                    select(outbox_events.c.event_id, outbox_events.c.status)
                )
            ).all()
        )
        flaky = (
            await tx.connection.execute(
                select(outbox_events.c.retry_count, outbox_events.c.last_error).where(
                    outbox_events.c.event_id == "e-flaky"
                )
            )
        ).one()
    assert sorted(rows.values()) == ["failed", "invalid"]
    assert flaky.retry_count == 2 and "503" in flaky.last_error


async def test_a_stuck_claim_is_reclaimed(storage: Storage) -> None:
    await storage.outbox.add("e-stuck", "t", "s", "{}", "application/json")
    assert [e.event_id for e in await storage.outbox.claim(10, 300)] == ["e-stuck"]
    assert await storage.outbox.claim(10, 300) == []  # processing: not claimed twice
    await _backdate(storage, minutes=10)
    assert [e.event_id for e in await storage.outbox.claim(10, 300)] == ["e-stuck"]


async def test_two_relayers_send_each_of_1000_events_once(storage: Storage) -> None:
    async with storage.transaction() as tx:
        for n in range(1000):
            await storage.outbox.add(
                f"e-{n:04d}", "bulk", "tests", f'{{"n": {n}}}', "application/json", tx=tx
            )
    broker = Broker()
    async with serving(broker) as url:
        config = _config(storage, url, outbox_batch_size=50)
        other = await Storage.open(storage.url.original)
        try:
            relayers = [OutboxRelayer(storage, config), OutboxRelayer(other, config)]

            async def drain(relayer: OutboxRelayer) -> int:
                total = 0
                while (sent := await relayer.relay_once()) > 0:
                    total += sent
                return total

            counts = await asyncio.gather(*(drain(r) for r in relayers))
        finally:
            await other.close()
    ids = Counter(headers["ce-id"] for headers, _ in broker.requests)
    assert len(ids) == 1000 and set(ids.values()) == {1}
    assert sum(counts) == 1000
    assert await _statuses(storage) == Counter({"published": 1000})


async def test_app_runs_the_relayer(storage: Storage) -> None:
    broker = Broker()
    async with (
        serving(broker) as url,
        App(config=_config(storage, url, outbox_interval=0.05)) as app,
    ):
        instance_id = await app.start_workflow(ob_flow, False)
        await app.wait_for_result(instance_id, timeout=20)
        for _ in range(200):
            if len(broker.requests) >= 2:
                break
            await asyncio.sleep(0.05)
    assert sorted(h["ce-type"] for h, _ in broker.requests) == ["booking.made", "flow.started"]


async def _backdate(storage: Storage, minutes: int = 1) -> None:
    async with storage.transaction() as tx:
        await tx.connection.execute(
            update(outbox_events).values(
                published_at=datetime.now(UTC) - timedelta(minutes=minutes)
            )
        )


# ------------------------------------------------------------ failed events back


async def test_a_failed_event_is_retried_by_the_app_and_sent_once(storage: Storage) -> None:
    broker = Broker(statuses=[500])  # the first attempt fails; later ones succeed
    options = {"outbox_interval": 0.05, "outbox_max_retries": 1}
    async with serving(broker) as url, App(config=_config(storage, url, **options)) as app:
        await storage.outbox.add("e-down", "order.created", "shop", "{}", "application/json")

        async def failed() -> list[OutboxEntry]:
            return await app.list_outbox_events(status="failed")

        await eventually(failed, what="the event to be failed")
        (entry,) = await failed()
        assert (entry.event_id, entry.retry_count) == ("e-down", 1)
        assert entry.last_error is not None and "500" in entry.last_error
        await asyncio.sleep(0.5)
        assert len(broker.requests) == 1  # failed stays failed on its own

        assert await app.retry_outbox_events() == 1

        async def published() -> bool:
            return [e.status for e in await app.list_outbox_events()] == ["published"]

        await eventually(published, what="the retried event to be published")
        await asyncio.sleep(0.5)
    assert [headers["ce-id"] for headers, _ in broker.requests] == ["e-down", "e-down"]
    (entry,) = await storage.outbox.list_events()
    assert (entry.retry_count, entry.last_error) == (0, None)


async def _seed_every_status(storage: Storage) -> None:
    for status in ("pending", "processing", "published", "failed", "invalid", "expired"):
        await storage.outbox.add(f"e-{status}", f"type.{status}", "s", "{}", "application/json")
    await storage.outbox.add("e-failed-2", "type.failed", "s", "{}", "application/json")
    async with storage.transaction() as tx:
        for event_id, status in [
            ("e-processing", "processing"),
            ("e-published", "published"),
            ("e-failed", "failed"),
            ("e-failed-2", "failed"),
            ("e-invalid", "invalid"),
            ("e-expired", "expired"),
        ]:
            await tx.connection.execute(
                update(outbox_events)
                .where(outbox_events.c.event_id == event_id)
                .values(
                    status=status,
                    retry_count=5,
                    last_error="HTTP 503",
                    published_at=datetime.now(UTC),
                )
            )


async def _rows(storage: Storage) -> dict[str, tuple[str, int, str | None]]:
    return {
        e.event_id: (e.status, e.retry_count, e.last_error)
        for e in await storage.outbox.list_events(limit=1000)
    }


async def test_retry_by_id_and_by_status_never_touches_a_claimed_event(
    storage: Storage,
) -> None:
    await _seed_every_status(storage)
    before = await _rows(storage)
    outbox = storage.outbox

    assert await outbox.retry_events(["e-failed"]) == 1
    assert await outbox.retry_events(["e-invalid"]) == 0  # by id, still only `failed`
    assert await outbox.retry_events(["e-invalid"], status="invalid") == 1
    assert await outbox.retry_events(status="failed") == 1  # e-failed-2
    assert await outbox.retry_events(status="failed") == 0
    rows = await _rows(storage)
    for event_id in ("e-failed", "e-failed-2", "e-invalid"):
        assert rows[event_id] == ("pending", 0, None)
    for event_id in ("e-processing", "e-published", "e-expired", "e-pending"):
        assert rows[event_id] == before[event_id]
    # Reset events are due at once: the next claim takes them (and no other).
    claimed = {e.event_id for e in await outbox.claim(100, 300)}
    assert claimed == {"e-failed", "e-failed-2", "e-invalid", "e-pending"}

    for status in ("processing", "pending"):
        with pytest.raises(InvalidValueError, match=status):
            await outbox.retry_events(status=status)
    assert (await _rows(storage))["e-processing"] == before["e-processing"]


async def test_list_filters_by_status_and_type_newest_first(storage: Storage) -> None:
    await _seed_every_status(storage)
    failed = await storage.outbox.list_events(status="failed")
    assert sorted(e.event_id for e in failed) == ["e-failed", "e-failed-2"]
    assert {e.event_type for e in failed} == {"type.failed"}
    assert [e.event_id for e in await storage.outbox.list_events(event_type="type.invalid")] == [
        "e-invalid"
    ]
    listed = await storage.outbox.list_events(limit=3)
    assert len(listed) == 3
    everything = await storage.outbox.list_events()
    assert len(everything) == 7
    assert [e.created_at for e in everything] == sorted(
        (e.created_at for e in everything), reverse=True
    )


async def test_bad_outbox_arguments_are_refused_before_the_database(storage: Storage) -> None:
    await _seed_every_status(storage)
    before = await _rows(storage)
    outbox = storage.outbox
    with pytest.raises(InvalidValueError, match="pending, processing, published, failed"):
        await outbox.list_events(status="sent")
    with pytest.raises(InvalidValueError, match="pending, processing, published, failed"):
        await outbox.retry_events(status="bogus")
    with pytest.raises(InvalidValueError, match="limit"):
        await outbox.list_events(limit=0)
    with pytest.raises(InvalidValueError, match="event type"):
        await outbox.list_events(event_type="x" * 256)
    with pytest.raises(InvalidValueError, match="outbox event id"):
        await outbox.retry_events(["bad\x00id"])
    # One unknown id: nothing is reset, and the error names it.
    with pytest.raises(OutboxEventNotFoundError, match="e-nope") as caught:
        await outbox.retry_events(["e-failed", "e-nope"])
    assert caught.value.event_ids == ["e-nope"]
    assert await _rows(storage) == before


# ------------------------------------------------------------ what goes on the wire


async def _send_all(storage: Storage, url: str, *, structured: bool) -> None:
    relayer = OutboxRelayer(storage, _config(storage, url, outbox_structured=structured))
    assert await relayer.relay_once() == 3


async def _queue_three(storage: Storage, prefix: str) -> None:
    await storage.outbox.add(f"{prefix}-json", "t", "s", '{"n": 1}', "application/json")
    await storage.outbox.add(f"{prefix}-text", "t", "s", "h\u00e9llo", "text/plain")
    await storage.outbox.add(f"{prefix}-bin", "t", "s", b"\x00\x01", "application/octet-stream")


async def test_each_mode_carries_json_text_and_binary_data(storage: Storage) -> None:
    broker = Broker()
    async with serving(broker) as url:
        await _queue_three(storage, "b")
        await _send_all(storage, url, structured=False)
        await _queue_three(storage, "s")
        await _send_all(storage, url, structured=True)
    binary = {h["ce-id"]: (h, body) for h, body in broker.requests if "ce-id" in h}
    # Binary mode: the stored data as it is, the stored content type, the queue time.
    assert binary["b-json"][1] == b'{"n": 1}'
    assert binary["b-text"][1] == "h\u00e9llo".encode()
    assert binary["b-bin"][1] == b"\x00\x01"
    assert binary["b-bin"][0]["content-type"] == "application/octet-stream"
    assert binary["b-json"][0]["ce-time"].endswith("Z")
    envelopes = {
        e["id"]: e for e in (json.loads(body) for h, body in broker.requests if "ce-id" not in h)
    }
    assert envelopes["s-json"]["data"] == {"n": 1}
    assert envelopes["s-text"]["data"] == "h\u00e9llo"
    assert envelopes["s-bin"]["data_base64"] == "AAE=" and "data" not in envelopes["s-bin"]
    assert envelopes["s-bin"]["datacontenttype"] == "application/octet-stream"
    assert {e["specversion"] for e in envelopes.values()} == {"1.0"}


async def test_structured_mode_sends_data_of_a_non_json_type_as_text(storage: Storage) -> None:
    # "ndjson" contains "json" but is not one JSON value: it travels as text.
    lines = '{"n": 1}\n{"n": 2}\n'
    await storage.outbox.add("e-nd", "t", "s", lines, "application/x-ndjson")
    broker = Broker()
    async with serving(broker) as url:
        relayer = OutboxRelayer(storage, _config(storage, url, outbox_structured=True))
        assert await relayer.relay_once() == 1
    ((_, body),) = broker.requests
    assert json.loads(body)["data"] == lines
    assert await _statuses(storage) == Counter({"published": 1})


async def test_an_event_whose_json_data_does_not_parse_is_invalid(storage: Storage) -> None:
    await storage.outbox.add("e-broken", "t", "s", "{not json", "application/json")
    await storage.outbox.add("e-fine", "t", "s", "{}", "application/json")
    broker = Broker()
    async with serving(broker) as url:
        relayer = OutboxRelayer(storage, _config(storage, url, outbox_structured=True))
        assert await relayer.relay_once() == 2
    assert [json.loads(body)["id"] for _, body in broker.requests] == ["e-fine"]
    rows = {e.event_id: e for e in await storage.outbox.list_events()}
    # Refused for good (sending it again cannot help), not left claimed.
    assert rows["e-broken"].status == "invalid" and rows["e-fine"].status == "published"
    assert "not valid JSON" in (rows["e-broken"].last_error or "")
