"""Starting workflows, typed values, results, lookups and searches."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import TypedDict

import pydantic
import pytest
from sqlalchemy import func, select

import romancy
from romancy import App, WorkflowContext
from romancy.storage.tables import workflow_instances

from .helpers import wait_for_status


@dataclasses.dataclass
class Order:
    order_id: str
    amount: float
    placed_at: datetime
    tags: list[str]


class Receipt(pydantic.BaseModel):
    order_id: str
    total: float
    issued_at: datetime


class Summary(TypedDict):
    order_id: str
    lines: int


@romancy.activity
async def wf_price(ctx: WorkflowContext, order: Order) -> Receipt:
    assert isinstance(order, Order) and isinstance(order.placed_at, datetime)
    return Receipt(order_id=order.order_id, total=order.amount * 2, issued_at=order.placed_at)


@romancy.workflow
async def wf_typed(ctx: WorkflowContext, order: Order) -> Summary:
    receipt = await wf_price(ctx, order)
    assert isinstance(receipt, Receipt)  # decoded back into the declared type
    return Summary(order_id=receipt.order_id, lines=len(order.tags))


@romancy.workflow
async def wf_echo(ctx: WorkflowContext, value: object) -> object:
    return value


@romancy.workflow
async def wf_no_input(ctx: WorkflowContext) -> str:
    return ctx.instance_id


@romancy.workflow
async def wf_bad_result(ctx: WorkflowContext) -> object:
    return {"when": object()}


ORDER = Order("o-1", 21.0, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), ["a", "b"])


async def test_typed_values_round_trip(app: App) -> None:
    instance_id = await app.start_workflow(wf_typed, ORDER)
    assert await app.wait_for_result(instance_id, timeout=20) == {"order_id": "o-1", "lines": 2}
    instance = await app.get_instance(instance_id)
    assert romancy.serialization.loads(instance.input_data) == {
        "order_id": "o-1",
        "amount": 21.0,
        "placed_at": "2026-01-02T03:04:05Z",
        "tags": ["a", "b"],
    }
    result = await app.get_workflow_result(instance_id)
    assert (result.status, result.error) == ("completed", None)


@pytest.mark.parametrize(
    "value", [None, 7, 2.5, "text ünïcode <&>", True, [1, "two", None], {"nested": {"x": [1]}}]
)
async def test_primitives_round_trip(app: App, value: object) -> None:
    instance_id = await app.start_workflow(wf_echo, value)
    assert await app.wait_for_result(instance_id, timeout=20) == value


async def test_workflow_without_input(app: App) -> None:
    instance_id = await app.start_workflow(wf_no_input)
    assert await app.wait_for_result(instance_id, timeout=20) == instance_id


async def test_caller_chosen_id_and_duplicates(app: App) -> None:
    assert await app.start_workflow(wf_echo, 1, instance_id="order-42") == "order-42"
    await app.wait_for_result("order-42", timeout=20)
    with pytest.raises(romancy.WorkflowAlreadyExistsError, match="order-42"):
        await app.start_workflow(wf_echo, 2, instance_id="order-42")
    assert romancy.serialization.loads((await app.get_instance("order-42")).input_data) == 1


async def test_unserialisable_input_names_value_and_workflow_and_writes_nothing(app: App) -> None:
    with pytest.raises(romancy.SerializationError) as info:
        await app.start_workflow(wf_echo, {"ok": 1, "handle": open})
    message = str(info.value)
    assert "input of workflow 'wf_echo'" in message and "$.handle" in message
    assert "builtin_function_or_method" in message
    async with app.storage.transaction(read_only=True) as tx:
        count = await tx.connection.scalar(select(func.count()).select_from(workflow_instances))
    assert count == 0


async def test_unserialisable_result_fails_the_workflow_clearly(app: App) -> None:
    instance_id = await app.start_workflow(wf_bad_result)
    with pytest.raises(romancy.WorkflowFailedError) as info:
        await app.wait_for_result(instance_id, timeout=20)
    assert info.value.error_type == "SerializationError"
    assert "result of workflow 'wf_bad_result'" in info.value.error_message
    assert (await app.get_instance(instance_id)).output_data is not None  # the error, not a value


async def test_unknown_instance(app: App) -> None:
    with pytest.raises(romancy.WorkflowNotFoundError, match="nope"):
        await app.get_instance("nope")
    with pytest.raises(romancy.WorkflowNotFoundError):
        await app.wait_for_result("nope", timeout=1)


async def test_wait_for_result_timeout(app: App) -> None:
    instance_id = await app.start_workflow(wf_sleeper, 3600)
    with pytest.raises(TimeoutError, match=r"did not finish within 0\.3 s"):
        await app.wait_for_result(instance_id, timeout=0.3)


@romancy.workflow
async def wf_sleeper(ctx: WorkflowContext, seconds: float) -> str:
    await romancy.sleep(ctx, seconds)
    return "woke"


@romancy.workflow
async def wf_search(ctx: WorkflowContext, data: dict[str, object]) -> None:
    return None


async def test_find_instances_by_input_values(app: App) -> None:
    inputs = [
        {"customer": {"id": "c-1", "vip": True}, "total": 10, "note": None, "tag": "x.y"},
        {"customer": {"id": "c-2", "vip": False}, "total": 10.5, "note": "n", "tag": "1"},
        {"customer": {"id": "c-1", "vip": False}, "total": "10", "note": "n"},
    ]
    ids = [await app.start_workflow(wf_search, data) for data in inputs]
    for instance_id in ids:
        await app.wait_for_result(instance_id, timeout=20)

    async def found(filters: dict[str, object]) -> set[int]:
        return {ids.index(i.instance_id) for i in await app.find_instances(filters)}

    assert await found({"customer.id": "c-1"}) == {0, 2}
    assert await found({"customer.vip": True}) == {0}
    assert await found({"customer.vip": False}) == {1, 2}
    assert await found({"total": 10}) == {0}  # the string "10" does not match the number
    assert await found({"total": 10.5}) == {1}
    assert await found({"total": "10"}) == {2}
    assert await found({"note": None}) == {0}  # JSON null, not a missing key
    assert await found({"tag": "1"}) == {1}  # a string, not the number 1
    assert await found({"customer.id": "c-1", "customer.vip": False}) == {2}
    assert await found({"missing.key": "x"}) == set()
    assert await found({"customer.id": "c-1' OR '1'='1"}) == set()  # values are parameters


async def test_find_with_options_and_paging(app: App) -> None:
    ids = [await app.start_workflow(wf_echo, n) for n in range(5)]
    for instance_id in ids:
        await app.wait_for_result(instance_id, timeout=20)
    sleeping = await app.start_workflow(wf_sleeper, 3600)
    await wait_for_status(app, sleeping, "waiting_for_timer")

    page = await app.find_instances_with_options(workflow_name="wf_echo", limit=2)
    seen = [i.instance_id for i in page.instances]
    while page.has_more:
        page = await app.find_instances_with_options(
            workflow_name="wf_echo", limit=2, page_token=page.next_page_token
        )
        seen += [i.instance_id for i in page.instances]
    assert sorted(seen) == sorted(ids) and len(seen) == 5

    waiting = await app.find_instances_with_options(status="waiting_for_timer")
    assert [i.instance_id for i in waiting.instances] == [sleeping]
    now = datetime.now(UTC)
    recent = await app.find_instances_with_options(started_after=now - timedelta(minutes=5))
    assert len(recent.instances) == 6
    assert not (
        await app.find_instances_with_options(started_before=now - timedelta(days=1))
    ).instances
    with pytest.raises(romancy.ConfigurationError, match="malformed page token"):
        await app.find_instances_with_options(page_token="garbage")
    with pytest.raises(romancy.InvalidValueError, match="only strings, numbers"):
        await app.find_instances({"x": [1, 2]})


UNICODE = '日本語 · עברית · émoji 🎉 · \u00e9\u0301 · <tag> & "q" \\'


@romancy.activity
async def wf_mark(ctx: WorkflowContext, text: str) -> str:
    return f"{text} ✓"


@romancy.workflow
async def wf_unicode(ctx: WorkflowContext, text: str) -> dict[str, str]:
    await romancy.subscribe(ctx, f"ch-{text}")
    await romancy.publish(ctx, f"ch-{text}", {"text": text}, metadata={"note": text})
    message = await romancy.receive(ctx, f"ch-{text}")
    return {"step": await wf_mark(ctx, text), "message": message.data["text"]}


async def test_text_beyond_latin1_round_trips_everywhere(app: App) -> None:
    # Input, a step's result, a channel name, message data and metadata, the output: a
    # MySQL database whose tables are not utf8mb4 refuses these (scripts/db-servers.sh
    # starts MariaDB with utf8mb4, as MySQL 8 and Debian's MariaDB configuration do).
    instance_id = await app.start_workflow(wf_unicode, UNICODE)
    assert await app.wait_for_result(instance_id, timeout=20) == {
        "step": f"{UNICODE} ✓",
        "message": UNICODE,
    }
    assert json.loads((await app.get_instance(instance_id)).input_data or "") == UNICODE
