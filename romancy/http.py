"""The HTTP face of an App (DESIGN D12): an ASGI application with Go Romancy's routes.

* ``POST /`` (and any path not below) — a CloudEvent, in binary mode (``ce-*`` headers)
  or structured mode (a JSON envelope) → 202 ``{"status": "accepted"}``
* ``GET /health/live`` → 200; ``GET /health/ready`` → 200 once the App runs, else 503
* ``POST /cancel/{instance_id}`` with an optional ``{"reason": …}`` → 200, 404 unknown
  instance, 409 not cancellable

Errors are JSON ``{"error", "error_type", "retryable"}`` (``retryable`` a real boolean):
400 malformed JSON or a missing/invalid attribute, 405 wrong method, 413 a body over
``max_request_bytes``, 415 batch mode. A rejected request stores nothing. Mount it under a
prefix with any ASGI server or framework; ``root_path`` is honoured.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from romancy.errors import WorkflowNotCancellableError, WorkflowNotFoundError
from romancy.events import CloudEvent, ingest_cloudevent
from romancy.serialization import parse_time

if TYPE_CHECKING:
    from romancy.app import App

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_STRUCTURED = "application/cloudevents+json"
_BATCH = "application/cloudevents-batch+json"
_CORE = {"id", "source", "type", "specversion", "time", "datacontenttype", "dataschema", "subject"}


class HTTPError(Exception):
    """A request the app refuses; becomes a JSON error response."""

    def __init__(self, status: int, error_type: str, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.status, self.error_type, self.retryable = status, error_type, retryable


class RomancyASGI:
    """ASGI 3 application serving one :class:`~romancy.App`."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._limit = app.config.max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            status, body = await self._route(scope, receive)
        except HTTPError as error:
            status = error.status
            body = {
                "error": str(error),
                "error_type": error.error_type,
                "retryable": error.retryable,
            }
        await _respond(send, status, body)

    async def _route(self, scope: Scope, receive: Receive) -> tuple[int, dict[str, Any]]:
        method = scope["method"].upper()
        path = _relative_path(scope)
        if path in ("/health/live", "/health/ready"):
            if method not in ("GET", "HEAD"):
                raise _method_not_allowed(method, "GET")
            if path == "/health/ready" and not self._app.is_running:
                return 503, {"status": "not ready"}
            return 200, {"status": "ok"}
        if path.startswith("/cancel/"):
            if method != "POST":
                raise _method_not_allowed(method, "POST")
            return await self._cancel(unquote(path[len("/cancel/") :]), scope, receive)
        if method != "POST":
            raise _method_not_allowed(method, "POST")
        event = parse_cloudevent(_headers(scope), await self._body(scope, receive))
        await ingest_cloudevent(self._app, event)
        return 202, {"status": "accepted"}

    async def _cancel(
        self, instance_id: str, scope: Scope, receive: Receive
    ) -> tuple[int, dict[str, Any]]:
        if not instance_id or "/" in instance_id:
            raise HTTPError(400, "ValidationError", "missing instance ID")
        raw = await self._body(scope, receive)
        reason = ""
        if raw.strip():
            payload = _json(raw)
            if not isinstance(payload, dict) or not isinstance(payload.get("reason", ""), str):
                raise HTTPError(400, "ValidationError", 'the body must be {"reason": "<text>"}')
            reason = payload.get("reason", "")
        try:
            await self._app.cancel_workflow(instance_id, reason)
        except WorkflowNotFoundError as error:
            raise HTTPError(404, "NotFound", str(error)) from None
        except WorkflowNotCancellableError as error:
            raise HTTPError(409, "Conflict", str(error)) from None
        return 200, {"status": "cancelled", "instance_id": instance_id}

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        declared = _headers(scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._limit:
            raise _too_large(self._limit)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._limit:
                raise _too_large(self._limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if not self._app.is_running:
                    await self._app.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._app.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def parse_cloudevent(headers: dict[str, str], body: bytes) -> CloudEvent:
    """A CloudEvent from an HTTP request in binary or structured content mode."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == _BATCH:
        raise HTTPError(415, "UnsupportedMediaType", "batched CloudEvents are not supported")
    if "ce-specversion" in headers:
        return _binary_event(headers, body, content_type)
    if content_type in (_STRUCTURED, "application/json", ""):
        envelope = _json(body)
        if not isinstance(envelope, dict):
            raise HTTPError(400, "ValidationError", "a structured CloudEvent must be a JSON object")
        return _structured_event(envelope)
    raise HTTPError(
        400,
        "ValidationError",
        f"not a CloudEvent: no ce-specversion header and content type {content_type!r}",
    )


def _binary_event(headers: dict[str, str], body: bytes, content_type: str) -> CloudEvent:
    attributes = {k[3:]: v for k, v in headers.items() if k.startswith("ce-")}
    data: Any = None
    if body:
        if "json" in content_type:
            data = _json(body)
        elif content_type.startswith("text/"):
            data = body.decode("utf-8", errors="replace")
        else:
            data = body
    return _event(attributes, data, content_type or None)


def _structured_event(envelope: dict[str, Any]) -> CloudEvent:
    attributes = {k: v for k, v in envelope.items() if k not in ("data", "data_base64")}
    if "data_base64" in envelope:
        try:
            data: Any = base64.b64decode(str(envelope["data_base64"]), validate=True)
        except (binascii.Error, ValueError):
            raise HTTPError(400, "ValidationError", "data_base64 is not valid base64") from None
    else:
        data = envelope.get("data")
    return _event(attributes, data, attributes.get("datacontenttype"))


def _event(attributes: dict[str, Any], data: Any, content_type: str | None) -> CloudEvent:
    missing = [name for name in ("specversion", "id", "source", "type") if not attributes.get(name)]
    if missing:
        raise HTTPError(
            400, "ValidationError", f"missing required attribute(s): {', '.join(missing)}"
        )
    if str(attributes["specversion"]) != "1.0":
        raise HTTPError(
            400, "ValidationError", f"unsupported specversion {attributes['specversion']!r}"
        )
    for name in ("id", "source", "type"):
        if not isinstance(attributes[name], str):
            raise HTTPError(400, "ValidationError", f"attribute {name!r} must be a string")
    moment: datetime | None = None
    if attributes.get("time"):
        try:
            moment = parse_time(str(attributes["time"]))
        except ValueError:
            raise HTTPError(
                400, "ValidationError", f"attribute 'time' is not RFC 3339: {attributes['time']!r}"
            ) from None
    return CloudEvent(
        id=attributes["id"],
        type=attributes["type"],
        source=attributes["source"],
        specversion="1.0",
        time=moment,
        datacontenttype=content_type,
        dataschema=attributes.get("dataschema"),
        subject=attributes.get("subject"),
        data=data,
        extensions={k: v for k, v in attributes.items() if k not in _CORE},
    )


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HTTPError(400, "ParseError", f"malformed JSON: {error}") from None


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _relative_path(scope: Scope) -> str:
    path: str = scope.get("path", "/")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    return path


def _method_not_allowed(method: str, allowed: str) -> HTTPError:
    return HTTPError(405, "MethodNotAllowed", f"method {method} not allowed here; use {allowed}")


def _too_large(limit: int) -> HTTPError:
    return HTTPError(413, "PayloadTooLarge", f"request body over the {limit}-byte limit")


async def _respond(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
