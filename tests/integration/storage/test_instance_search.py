"""Searching instances: input filters and the instance-id fragment, on every backend."""

from __future__ import annotations

import json
from typing import Any

import pytest

from romancy import InvalidValueError
from romancy.storage import InstanceQuery, Storage

from .helpers import new_instance


async def _store(storage: Storage, *inputs: str, ids: list[str] | None = None) -> list[str]:
    made = []
    for n, text in enumerate(inputs):
        new = new_instance(input_data=text, **({"instance_id": ids[n]} if ids else {}))
        await storage.instances.create_instance(new)
        made.append(new.instance_id)
    return made


async def _found(storage: Storage, ids: list[str], **query: Any) -> set[int]:
    page = await storage.instances.list_instances(InstanceQuery(**query))
    return {ids.index(i.instance_id) for i in page.instances}


def go_json(value: object) -> str:
    """How Go's encoding/json writes ``value``: UTF-8 kept; controls other than
    newline, return and tab, ``<>&``, U+2028 and U+2029 as ``\\u00XX`` escapes."""
    if isinstance(value, dict):
        members = (f"{go_json(str(k))}:{go_json(v)}" for k, v in value.items())
        return "{" + ",".join(members) + "}"
    if not isinstance(value, str):
        return json.dumps(value)
    short = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return (
        '"'
        + "".join(
            short.get(c) or (f"\\u{ord(c):04x}" if c < " " or c in "<>&\u2028\u2029" else c)
            for c in value
        )
        + '"'
    )


async def test_a_stored_nul_character_does_not_break_searches(storage: Storage) -> None:
    # Go or Edda may store "\u0000" in an input; PostgreSQL cannot turn it into text.
    ids = await _store(
        storage,
        json.dumps({"a": "a\x00b", "x": 1, "k\x00": "v"}),
        json.dumps({"a": "a", "x": 1, "k": "v"}),
        json.dumps({"a": "a\\u0000b", "x": 2}),  # a backslash, not a NUL
    )
    assert await _found(storage, ids, input_filters={"x": 1}) == {0, 1}
    # SQLite reads text only up to a NUL: "a\x00b" must not pass for "a", nor "k\x00" for "k".
    assert await _found(storage, ids, input_filters={"a": "a"}) == {1}
    assert await _found(storage, ids, input_filters={"k": "v"}) == {1}
    assert await _found(storage, ids, input_filters={"a": "a\\u0000b"}) == {2}
    with pytest.raises(InvalidValueError, match=r"input filter 'a'.*NUL"):
        InstanceQuery(input_filters={"a": "a\x00b"})


async def test_keys_and_values_match_in_every_stored_spelling(storage: Storage) -> None:
    keys = ["ключ", 'q"uote', "back\\slash", "$", "[0]", "*", "s p", "<&>", "\u2028"]
    data = {key: {"inner": f"юникод {key} \u2028 %_\\"} for key in keys}
    ids = await _store(
        storage,
        json.dumps(data),  # romancy and Edda: ASCII with \u escapes
        go_json(data),  # Go: UTF-8 kept
        json.dumps({key: {"inner": "other"} for key in keys}),
    )
    for key in keys:
        found = await _found(storage, ids, input_filters={f"{key}.inner": data[key]["inner"]})
        assert found == {0, 1}, key
    assert await _found(storage, ids, input_filters={"ключ.inner": "ЮНИКОД ключ"}) == set()


async def test_instance_id_fragment_is_a_literal_ascii_caseless_substring(
    storage: Storage,
) -> None:
    names = ["order-1", "order_2", "ORDER%3", "Émile-4"]
    ids = await _store(storage, *["{}"] * len(names), ids=names)
    assert await _found(storage, ids, instance_id_contains="%") == {2}
    assert await _found(storage, ids, instance_id_contains="_") == {1}
    assert await _found(storage, ids, instance_id_contains="Order") == {0, 1, 2}
    assert await _found(storage, ids, instance_id_contains="r%3") == {2}
    # Only ASCII letters fold, the same on every backend.
    assert await _found(storage, ids, instance_id_contains="émile") == set()
    assert await _found(storage, ids, instance_id_contains="ÉMILE") == {3}
    with pytest.raises(InvalidValueError, match=r"instance_id_contains.*NUL"):
        InstanceQuery(instance_id_contains="\x00")


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"a\x00b": 1}, r"input filter 'a\\x00b'.*NUL"),
        ({"big": 2**63}, "input filter 'big'.*64-bit"),
        ({"small": -(2**63) - 1}, "input filter 'small'.*64-bit"),
        ({"nan": float("nan")}, "input filter 'nan'.*finite"),
        ({"inf": float("-inf")}, "input filter 'inf'.*finite"),
        ({"a..b": 1}, "input filter 'a..b'.*empty key"),
        ({"x": [1]}, "input filter 'x'.*strings, numbers"),
    ],
)
def test_filters_that_cannot_match_are_refused(filters: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        InstanceQuery(input_filters=filters)


async def test_numbers_compare_exactly(storage: Storage) -> None:
    ids = await _store(
        storage,
        '{"n": 9007199254740992}',  # 2**53
        '{"n": 9007199254740993}',  # 2**53 + 1: the same double
        '{"n": 1}',
        '{"n": 1.0}',
        '{"n": true}',
        '{"n": 9223372036854775807}',
        '{"n": 0.1}',
        '{"n": 18446744073709551617}',  # beyond 64 bits: never matches
        '{"n": -0}',
    )

    async def found(value: object) -> set[int]:
        return await _found(storage, ids, input_filters={"n": value})

    assert await found(2**53) == {0}
    assert await found(2**53 + 1) == {1}
    assert await found(1) == {2, 3}  # 1 and 1.0 are the same number
    assert await found(1.0) == {2, 3}
    assert await found(True) == {4}  # a boolean is never a number
    assert await found(2**63 - 1) == {5}
    assert await found(0.1) == {6}
    assert await found(0.30000000000000004) == set()
    assert await found(0) == {8}
    assert await found(float(2**64)) == set()
