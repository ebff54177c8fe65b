"""Hostile requests to the HTTP endpoint: each is a 4xx JSON error naming the problem,
decided before the database is touched, so nothing is stored (issue 10, defect 3)."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import func, select

import romancy
from romancy import App
from romancy.storage.tables import channel_messages, workflow_instances
from tests.support.http import serving

BINARY = {
    "ce-specversion": "1.0",
    "ce-id": "b-1",
    "ce-source": "fuzz",
    "ce-type": "t",
    "content-type": "application/json",
}


def _structured(**members: object) -> bytes:
    event = {"specversion": "1.0", "id": "s-1", "source": "fuzz", "type": "t", **members}
    return json.dumps(event).encode()


def _raw(extra: str) -> bytes:
    """A structured event with ``extra`` spliced in as raw JSON text (for NaN & co.)."""
    return (
        b'{"specversion": "1.0", "id": "s-1", "source": "fuzz", "type": "t", '
        + extra.encode()
        + b"}"
    )


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


# (case id, path, body, headers, status, error_type, words the message must contain)
CASES = [
    ("nan-in-data", "/", _raw('"data": {"v": NaN}'), {}, 400, "ParseError", "NaN"),
    ("inf-in-extension", "/", _raw('"ext": Infinity'), {}, 400, "ParseError", "Infinity"),
    ("minus-inf-in-data", "/", _raw('"data": [-Infinity]'), {}, 400, "ParseError", "-Infinity"),
    ("1e400-in-data", "/", _raw('"data": 1e400'), {}, 400, "ParseError", "1e400"),
    ("minus-1e400-in-ext", "/", _raw('"ext": -1e400'), {}, 400, "ParseError", "-1e400"),
    ("nan-in-binary-body", "/", b'{"v": NaN}', BINARY, 400, "ParseError", "NaN"),
    ("1e400-in-binary-body", "/", b"[1e400]", BINARY, 400, "ParseError", "1e400"),
    (
        "time-overflows-year-9999",
        "/",
        _structured(time="9999-12-31T23:59:59-23:59"),
        {},
        400,
        "ValidationError",
        "'time'",
    ),
    (
        "time-underflows-year-1",
        "/",
        _structured(time="0001-01-01T00:00:00+01:00"),
        {},
        400,
        "ValidationError",
        "'time'",
    ),
    ("deep-data-500", "/", _raw(f'"data": {_deep(500)}'), {}, 400, "ParseError", "deep"),
    ("deep-binary-10000", "/", _deep(10_000).encode(), BINARY, 400, "ParseError", "deep"),
    ("deep-cancel-body", "/cancel/some-id", _deep(5000).encode(), {}, 400, "ParseError", "deep"),
    ("nul-in-type", "/", _structured(type="a\x00b"), {}, 400, "ValidationError", "NUL"),
    (
        "nul-in-target",
        "/",
        _structured(romancyinstanceid="i\x00d"),
        {},
        400,
        "ValidationError",
        "NUL",
    ),
    ("nul-in-cancel-path", "/cancel/%00", b"", {}, 400, "ValidationError", "NUL"),
    ("type-8kb", "/", _structured(type="t" * 8000), {}, 400, "ValidationError", "'type'"),
    (
        "target-8kb",
        "/",
        _structured(romancyinstanceid="i" * 8000),
        {},
        400,
        "ValidationError",
        "romancyinstanceid",
    ),
    ("type-256", "/", _structured(type="t" * 256), {}, 400, "ValidationError", "255"),
    ("id-70kb", "/", _structured(id="i" * 70_000), {}, 400, "ValidationError", "'id'"),
    ("source-70kb", "/", _structured(source="s" * 70_000), {}, 400, "ValidationError", "'source'"),
    ("extension-70kb", "/", _structured(ext="e" * 70_000), {}, 400, "ValidationError", "'ext'"),
    (
        "extensions-over-64kb-together",
        "/",
        _structured(**{f"e{n}": "x" * 4000 for n in range(17)}),
        {},
        400,
        "ValidationError",
        "bytes",
    ),
    ("specversion-number", "/", _raw('"specversion": 1.0'), {}, 400, "ValidationError", "1.0"),
    ("time-object", "/", _structured(time={}), {}, 400, "ValidationError", "'time'"),
    ("time-array", "/", _structured(time=[]), {}, 400, "ValidationError", "'time'"),
    ("time-date-only", "/", _structured(time="2024-01-01"), {}, 400, "ValidationError", "RFC 3339"),
    ("base64-true", "/", _structured(data_base64=True), {}, 400, "ValidationError", "data_base64"),
    ("base64-null", "/", _structured(data_base64=None), {}, 400, "ValidationError", "data_base64"),
    (
        "header-not-utf8",
        "/",
        b"{}",
        {**BINARY, "ce-subject": "caf%E9"},
        400,
        "ValidationError",
        "ce-subject",
    ),
]


async def _stored(app: App) -> tuple[int, int]:
    async with app.storage.transaction(read_only=True) as tx:
        messages = await tx.connection.scalar(select(func.count()).select_from(channel_messages))
        instances = await tx.connection.scalar(select(func.count()).select_from(workflow_instances))
    return int(messages or 0), int(instances or 0)


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "error_type", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
async def test_hostile_requests_get_a_4xx_naming_the_problem_and_store_nothing(
    app: App,
    path: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    error_type: str,
    words: str,
) -> None:
    # httpx would normalise the path; the raw target keeps %00 as the client sent it.
    async with serving(app.asgi()) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.post(url + path, content=body, headers=headers)
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["error_type"] == error_type, payload
    assert words in payload["error"], payload
    assert payload["retryable"] is False
    assert await _stored(app) == (0, 0)


async def test_binary_mode_header_values_are_percent_decoded(app: App) -> None:
    async with serving(app.asgi()) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            "/", content=b"{}", headers={**BINARY, "ce-subject": "caf%C3%A9", "ce-note": "a%20b"}
        )
    assert response.status_code == 202, response.text
    async with app.storage.transaction(read_only=True) as tx:
        stored = await tx.connection.scalar(select(channel_messages.c.metadata))
    metadata = json.loads(stored)
    assert metadata["ce_subject"] == "café"
    assert metadata["ce_extensions"] == {"note": "a b"}


async def test_events_from_code_obey_the_same_limits(app: App) -> None:
    for event in (
        romancy.CloudEvent(id="e", type="a\x00b", source="code"),
        romancy.CloudEvent(id="e", type="t" * 256, source="code"),
        romancy.CloudEvent(id="e", type="t", source="code", extensions={"ext": "x" * 70_000}),
        romancy.CloudEvent(id="e", type="t", source="code", extensions={"Bad-Name": "x"}),
    ):
        with pytest.raises(romancy.InvalidValueError):
            await romancy.ingest_cloudevent(app, event)
    assert await _stored(app) == (0, 0)
