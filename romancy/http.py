"""The HTTP face of an App (docs/http.md): an ASGI application with Go Romancy's routes.

* ``POST /`` (and any path not below) — a CloudEvent, in binary mode (``ce-*`` headers)
  or structured mode (a JSON envelope) → 202 ``{"status": "accepted", "delivered": N,
  "started": 0|1}`` (instances it reached at once; a handler workflow started)
* ``GET /health/live`` → 200; ``GET /health/ready`` → 200 once the App runs, else 503
* ``POST /cancel/{instance_id}`` with an optional ``{"reason": …}`` → 200, 404 unknown
  instance, 409 not cancellable

Errors are JSON ``{"error", "error_type", "retryable"}`` (``retryable`` a real boolean):
400 malformed JSON or an attribute breaking a rule of :mod:`romancy.cloudevent`, 405 wrong
method, 413 a body over ``max_request_bytes``, 415 batch mode. A rejected request stores
nothing. Mount it under a prefix with any ASGI server or framework; ``root_path`` is
honoured.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol
from urllib.parse import unquote_to_bytes

from romancy.cloudevent import JSON_CONTENT_TYPE
from romancy.cloudevent_http import BATCH, from_http, media_type
from romancy.config import AppConfig
from romancy.engine.runtime import RuntimeOwner
from romancy.errors import (
    InvalidValueError,
    MalformedJSONError,
    WorkflowNotCancellableError,
    WorkflowNotFoundError,
)
from romancy.events import receive_cloudevent
from romancy.jsontext import parse_json
from romancy.limits import check_name
from romancy.wire.status import InstanceStatus

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Served(RuntimeOwner, Protocol):
    """What the endpoint needs of the App it serves."""

    @property
    def config(self) -> AppConfig: ...

    @property
    def is_running(self) -> bool: ...

    async def start(self) -> None: ...

    async def shutdown(self) -> None: ...

    async def cancel_workflow(self, instance_id: str, reason: str = "") -> None: ...


class HTTPError(Exception):
    """A request the app refuses; becomes a JSON error response."""

    def __init__(self, status: int, error_type: str, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.status, self.error_type, self.retryable = status, error_type, retryable


class RomancyASGI:
    """ASGI 3 application serving one :class:`~romancy.App`."""

    def __init__(self, app: Served) -> None:
        self._app = app
        self._limit = app.config.max_request_bytes
        self._max_depth = app.config.max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            status, body = await self._route(scope, receive)
        except MalformedJSONError as error:
            status, body = 400, _error_body("ParseError", str(error))
        except InvalidValueError as error:  # bad input, refused before anything is stored
            status, body = 400, _error_body("ValidationError", str(error))
        except HTTPError as error:
            status, body = error.status, _error_body(error.error_type, str(error), error.retryable)
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
            instance_id = _cancelled_id(scope, path)
            if instance_id is None:
                raise HTTPError(
                    400,
                    "ValidationError",
                    "the path must be /cancel/{instance id} (send a / in the id as %2F)",
                )
            return await self._cancel(instance_id, scope, receive)
        if method != "POST":
            raise _method_not_allowed(method, "POST")
        headers = _headers(scope)
        if media_type(headers.get("content-type")) == BATCH:
            raise HTTPError(415, "UnsupportedMediaType", "batched CloudEvents are not supported")
        body = await self._body(scope, receive)
        event = from_http(headers, body, max_depth=self._max_depth)
        receipt = await receive_cloudevent(self._app, event)
        return 202, {
            "status": "accepted",
            "delivered": len(receipt.delivered),
            "started": 0 if receipt.started is None else 1,
        }

    async def _cancel(
        self, instance_id: str, scope: Scope, receive: Receive
    ) -> tuple[int, dict[str, Any]]:
        check_name(instance_id, "instance id")
        raw = await self._body(scope, receive)
        reason = ""
        if raw.strip():
            payload = parse_json(raw, what="the cancel request", max_depth=self._max_depth)
            if not isinstance(payload, dict) or not isinstance(payload.get("reason", ""), str):
                raise HTTPError(400, "ValidationError", 'the body must be {"reason": "<text>"}')
            reason = payload.get("reason", "")
        try:
            await self._app.cancel_workflow(instance_id, reason)
        except WorkflowNotFoundError as error:
            raise HTTPError(404, "NotFound", str(error)) from None
        except WorkflowNotCancellableError as error:
            raise HTTPError(409, "Conflict", str(error)) from None
        return 200, {"status": InstanceStatus.CANCELLED, "instance_id": instance_id}

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


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cancelled_id(scope: Scope, path: str) -> str | None:
    """The id of ``/cancel/{id}``, or ``None`` when the path holds no one id. The ASGI path
    is percent-decoded already (decoding it again would mangle ids); an id holding ``/``
    arrives as ``%2F``, which only the raw path tells apart from a separator."""
    instance_id = path[len("/cancel/") :]
    if "/" not in instance_id:
        return instance_id or None
    raw = scope.get("raw_path")
    if not isinstance(raw, bytes):
        return None
    segment = raw.rsplit(b"/cancel/", 1)[-1]
    encoded_once = (
        b"/" not in segment and unquote_to_bytes(segment).decode("utf-8", "replace") == instance_id
    )
    return instance_id if encoded_once else None


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


def _error_body(error_type: str, message: str, retryable: bool = False) -> dict[str, Any]:
    return {"error": message, "error_type": error_type, "retryable": retryable}


async def _respond(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", JSON_CONTENT_TYPE.encode()),
                (b"content-length", str(len(payload)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
