"""Property: an instance search returns what a plain-Python reading of the rules returns.

Inputs are stored as romancy/Edda (ASCII, escaped) and Go (UTF-8) write them; filters mix
values taken from the inputs with values that match nothing. Never a driver error.
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from romancy import InvalidValueError
from romancy.storage import InstanceQuery, Storage
from tests.integration.storage.helpers import new_instance
from tests.integration.storage.test_instance_search import go_json
from tests.support.chaos import profile, record

pytestmark = pytest.mark.chaos

_MISSING = object()
_ODD = "\"\\.$[*] %_\x00\u2028<&>кé🎉'\t"
_texts = st.text(
    alphabet=st.one_of(st.sampled_from(_ODD), st.characters(exclude_categories=["Cs"])),
    max_size=12,
)
_keys = st.one_of(_texts.filter(bool), st.sampled_from(["a", "b", "к", "a b"]))
_numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**53, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), 0, 1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1.0, 0.1, -0.0, float(2**53), 1e300]),
)
_scalars = st.one_of(st.none(), st.booleans(), _numbers, _texts)
_documents = st.recursive(
    _scalars, lambda inner: st.dictionaries(_keys, inner, max_size=4), max_leaves=12
).filter(lambda d: isinstance(d, dict))


def reference_match(document: Any, path: str, wanted: Any) -> bool:
    """The documented rule: dots split keys, each level an object, equal JSON values."""
    for key in path.split("."):
        if not isinstance(document, dict) or key not in document:
            return False
        document = document[key]
    if isinstance(wanted, bool) or wanted is None or isinstance(document, bool):
        return bool(document is wanted)
    if isinstance(wanted, str) or isinstance(document, str):
        return bool(document == wanted)
    if isinstance(document, int) and not -(2**63) <= document < 2**63:
        return False  # integers beyond 64 bits never match
    return bool(document == wanted)


def paths_in(document: Any, prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for key, value in document.items():
        path = f"{prefix}{key}"
        found.append((path, value))
        if isinstance(value, dict):
            found += paths_in(value, path + ".")
    return found


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    documents: list[dict[str, Any]] = draw(st.lists(_documents, min_size=1, max_size=4))  # type: ignore[arg-type]
    known = [p for d in documents for p in paths_in(d)]
    filters: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()) and known:
            path, value = draw(st.sampled_from(known))
            if isinstance(value, dict):
                value = draw(_scalars)
        else:
            path, value = draw(_keys), draw(_scalars)
        filters.append({path: value})
    return documents, filters


def _refused(filters: dict[str, Any]) -> bool:
    try:
        InstanceQuery(input_filters=filters)
    except InvalidValueError:
        return True
    return False


def _expected_refusal(path: str, value: Any) -> bool:
    if "\x00" in path or any(not key for key in path.split(".")):
        return True
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        return not -(2**63) <= value < 2**63
    return not math.isfinite(value)


async def test_filters_agree_with_the_reference(storage: Storage, backend: Any) -> None:
    loop = asyncio.get_running_loop()
    counts = {"queries": 0, "refused": 0, "matches": 0}

    @settings(
        max_examples=profile().fuzz_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(cases())
    def check(case: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
        asyncio.run_coroutine_threadsafe(run(*case), loop).result()

    async def run(documents: list[dict[str, Any]], filters: list[dict[str, Any]]) -> None:
        # Each example gets its own workflow name; earlier examples' rows stay out of it.
        name = f"wf-{uuid.uuid4().hex}"
        rows: dict[str, Any] = {}
        for document in documents:
            for text in (json.dumps(document), go_json(document)):
                new = new_instance(input_data=text, workflow_name=name)
                await storage.instances.create_instance(new)
                rows[new.instance_id] = document
        for query in filters:
            ((path, value),) = query.items()
            counts["queries"] += 1
            if _refused(query):
                assert _expected_refusal(path, value), query
                counts["refused"] += 1
                continue
            if backend.name == "mysql" and any(k.startswith("-") for k in path.split(".")):
                with pytest.raises(InvalidValueError, match="starting with '-'"):
                    await storage.instances.list_instances(InstanceQuery(input_filters=query))
                counts["refused"] += 1
                continue
            page = await storage.instances.list_instances(
                InstanceQuery(workflow_name=name, input_filters=query, limit=1000)
            )
            got = {i.instance_id for i in page.instances}
            want = {i for i, d in rows.items() if reference_match(d, path, value)}
            assert got == want, (query, [rows[i] for i in got ^ want])
            counts["matches"] += len(got)
        ids = list(rows)
        fragment = ids[0][3:9].upper()
        page = await storage.instances.list_instances(
            InstanceQuery(workflow_name=name, instance_id_contains=fragment)
        )
        assert {i.instance_id for i in page.instances} == {
            i for i in ids if fragment.lower() in i.lower()
        }
        counts["queries"] += 1

    await loop.run_in_executor(None, check)
    print(f"filter fuzz on {backend.name}: {counts}")
    record("filter_fuzz", backend.name, **counts)
