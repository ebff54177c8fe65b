"""Property: whatever arrives over HTTP, the endpoint never answers 5xx.

Hypothesis builds requests of every kind — structured, binary, batch, garbage bytes, deep
nesting, NaN and out-of-range numbers, odd unicode, NULs, long strings, percent-encodings,
cancel requests — and sends them over real HTTP to the App served on 127.0.0.1. A
rejected request stores nothing; an accepted event is stored exactly once. Requests per
backend come from the chaos profile (``http_requests``).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Coroutine
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from romancy import App
from romancy.storage.tables import channel_messages, workflow_instances
from tests.support.chaos import profile, record
from tests.support.fixtures import Backend
from tests.support.http import serving

pytestmark = pytest.mark.chaos

_ODD = [
    "",
    "\x00",
    "a\x00b",
    "caf%C3%A9",
    "%FF%FE",
    "%",
    "%00",
    "é" * 300,
    "\U0001d518\U0001d52b\U0001f600",  # astral-plane characters
    "\u202e\ufeff\u200b",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+01:00",
    "2024-01-01",
    "2024-01-01T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "1.0",
]
_TEXT = st.one_of(
    st.text(max_size=12),
    st.text(st.characters(), max_size=40),
    st.sampled_from(_ODD),
    st.sampled_from([254, 255, 256, 8000, 66_000]).map(lambda n: "x" * n),
)
# Raw JSON text that json.dumps cannot produce, spliced in where "__RAW__" stands.
_RAW = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" * 5000, '"\\ud800"']),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 300).map(lambda n: '{"a":' * n + "1" + "}" * n),
)
_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    _TEXT,
    st.just("__RAW__"),
    st.just({}),
    st.just([]),
)
_JSON = st.recursive(
    _SCALAR,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_ATTRIBUTE = st.one_of(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8), _TEXT
)
_CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/cloudevents+json",
        "application/cloudevents-batch+json",
        "text/plain",
        "application/octet-stream",
        "application/json; charset=utf-8",
        "multipart/form-data",
    ]
)


def _json_text(value: Any, raw: str) -> bytes:
    return json.dumps(value).replace('"__RAW__"', raw).encode("utf-8", errors="surrogatepass")


@st.composite
def _structured(draw: st.DrawFn) -> tuple[str, dict[str, Any], bytes]:
    envelope: dict[str, Any] = {"specversion": "1.0", "id": "f-1", "source": "fuzz", "type": "t"}
    for name in draw(st.lists(st.sampled_from(sorted(envelope)), max_size=2)):
        if draw(st.booleans()):
            envelope.pop(name, None)
        else:
            envelope[name] = draw(_SCALAR)
    for name in ("time", "subject", "dataschema", "datacontenttype", "data", "data_base64"):
        if draw(st.integers(0, 4)) == 0:
            envelope[name] = draw(_JSON)
    extensions = draw(st.dictionaries(_ATTRIBUTE, _JSON, max_size=3))
    envelope.update(extensions)
    body = _json_text(envelope, draw(_RAW))
    return "/", {"content-type": draw(_CONTENT_TYPES) or ""}, body


def _header(value: str, encode: bool) -> bytes:
    if encode:
        return quote(value.encode("utf-8", errors="surrogatepass"), safe="").encode("ascii")
    # h11 refuses control characters and surrounding blanks in a header value: send
    # those percent-encoded.
    raw = value.encode("utf-8", errors="surrogatepass")
    sendable = raw.strip(b" \t") == raw and all(b >= 0x20 and b != 0x7F for b in raw)
    return raw if sendable else quote(raw).encode("ascii")


@st.composite
def _binary(draw: st.DrawFn) -> tuple[str, dict[bytes, bytes], bytes]:
    attributes = {"specversion": "1.0", "id": "f-1", "source": "fuzz", "type": "t"}
    for name in draw(st.lists(st.sampled_from(sorted(attributes)), max_size=2)):
        attributes[name] = draw(_TEXT)
    if draw(st.booleans()):
        attributes.pop(draw(st.sampled_from(sorted(attributes))))
    attributes.update(
        draw(
            st.dictionaries(
                st.from_regex(r"[A-Za-z0-9_-]{0,24}", fullmatch=True), _TEXT, max_size=3
            )
        )
    )
    headers = {f"ce-{k}".encode(): _header(v, draw(st.booleans())) for k, v in attributes.items()}
    content_type = draw(_CONTENT_TYPES)
    if content_type:
        headers[b"content-type"] = content_type.encode()
    body = draw(st.one_of(st.binary(max_size=64), _JSON.map(lambda v: v), _RAW))
    if not isinstance(body, bytes):
        body = body.encode() if isinstance(body, str) else _json_text(body, draw(_RAW))
    return "/", headers, body


@st.composite
def _cancel(draw: st.DrawFn) -> tuple[str, dict[str, str], bytes]:
    instance = quote(draw(_TEXT).encode("utf-8", errors="surrogatepass"), safe="")[
        :8000
    ]  # clients refuse URLs over 64 KiB
    body = draw(
        st.one_of(
            st.just(b""),
            st.binary(max_size=32),
            _JSON.map(lambda v: {"reason": v}).map(lambda v: _json_text(v, "NaN")),
            _RAW.map(str.encode),
        )
    )
    return f"/cancel/{instance}", {}, body


_GARBAGE = st.tuples(
    st.sampled_from(["/", "/anything", "/health/live"]),
    _CONTENT_TYPES.map(lambda c: {"content-type": c} if c else {}),
    st.binary(max_size=200),
)
_REQUESTS = st.one_of(_structured(), _binary(), _cancel(), _GARBAGE)


#: What uvicorn (h11) answers itself, with 400, to a header block over 16 KiB.
_SERVER_REFUSAL = "Invalid HTTP request received."
_SERVER_HEADER_LIMIT = 16 * 1024


def _header_bytes(headers: Any) -> int:
    return sum(len(k) + len(v) for k, v in headers.items())


async def _stored(app: App) -> tuple[int, int]:
    async with app.storage.transaction(read_only=True) as tx:
        messages = await tx.connection.scalar(select(func.count()).select_from(channel_messages))
        instances = await tx.connection.scalar(select(func.count()).select_from(workflow_instances))
    return int(messages or 0), int(instances or 0)


async def test_no_request_gets_a_5xx(app: App, backend: Backend) -> None:
    loop = asyncio.get_running_loop()
    statuses: Counter[str] = Counter()

    def on_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=60)

    def run_property(url: str) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:

            @settings(
                max_examples=profile().http_requests,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(_REQUESTS)
            def no_5xx(request: tuple[str, Any, bytes]) -> None:
                path, headers, body = request
                before = on_loop(_stored(app))
                response = client.post(url + path, headers=headers, content=body)
                statuses[f"{response.status_code // 100}xx"] += 1
                assert response.status_code < 500, (request, response.text)
                after = on_loop(_stored(app))
                if response.status_code == 202:
                    assert after == (before[0] + 1, before[1]), (request, response.text)
                    return
                assert after == before, (request, response.text)
                # uvicorn (h11) itself refuses a header block over 16 KiB, in plain text.
                if response.text == _SERVER_REFUSAL:
                    assert _header_bytes(headers) > _SERVER_HEADER_LIMIT, request
                else:
                    assert response.headers.get("content-type") == "application/json"
                    assert response.json()["error"], (response.status_code, response.text)

            no_5xx()

    async with serving(app.asgi()) as url:
        await asyncio.to_thread(run_property, url)
    total = sum(statuses.values())
    print(f"\nHTTP fuzz on {backend.name}: {total} requests, {dict(sorted(statuses.items()))}")
    record("http_fuzz", backend.name, requests=total, **dict(statuses))
    assert statuses["2xx"] > 0 and statuses["4xx"] > 0, statuses
