"""A CloudEvent POSTed to the sender runtime's HTTP endpoint reaches the receiver runtime's
``wait_event`` callers, with its payload, attributes and extensions."""

from __future__ import annotations

from .. import _case

TITLE = "CloudEvent over HTTP into waiters"
SENDER_MODES, RECEIVER_MODES = _case.SERVED_EVENTS


async def run(cell: _case.Cell) -> str:
    event_type = cell.channel("order.paid")
    waiters = [
        await cell.listen(f"waiter {n}", mode="event-waiter", event_type=event_type) for n in (1, 2)
    ]
    await cell.until_waiting(waiters)
    payload = {"order": "o-17", "amount": 12.5, "items": ["a", "b"], "note": "naïve ☕"}
    event = {
        "specversion": "1.0",
        "id": f"{cell.tag}-evt",
        "source": f"crosstest/{cell.sender.name}",
        "type": event_type,
        "datacontenttype": "application/json",
        "tenant": "t-1",
        "data": payload,
    }
    async with cell.serving(cell.sender, f"{cell.sender.name} endpoint") as url:
        await cell.post_event(url, event)
        results = [await cell.received(w) for w in waiters]
    for waiter, got in zip(waiters, results, strict=True):
        cell.expect(got.get("message") == payload, f"{waiter.label} got data {got.get('message')}")
        meta = got.get("metadata") or {}
        seen = {k: meta.get(k) for k in ("id", "type", "source", "tenant")}
        wanted = {k: event[k] for k in seen}
        cell.expect(seen == wanted, f"{waiter.label} saw attributes {seen}, expected {wanted}")
    return f"{len(waiters)} waiters got the event through {cell.sender.name}'s endpoint"
