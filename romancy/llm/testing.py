"""A stand-in model server for tests and demos: OpenAI chat completions on 127.0.0.1.

:class:`StandInModel` listens on a free loopback port and answers
``POST …/chat/completions`` with replies a *responder* picks for each request, so
workflows using :mod:`romancy.llm` run offline against the real OpenAI client::

    def responder(request: dict) -> Reply:
        return Reply.text("Paris")

    async with StandInModel(responder) as server:
        await call(ctx, "Capital of France?", model="stand-in", base_url=server.base_url)
        assert len(server.requests) == 1

Every request body is kept in :attr:`StandInModel.requests`, so a test can count what
reached the model. The server speaks just enough HTTP/1.1 (keep-alive, Content-Length
bodies) for the OpenAI client; it is not a general web server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from romancy.tasks import cancel_and_wait

_MAX_HEADER_BYTES = 64 * 1024
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}


@dataclass(frozen=True)
class Reply:
    """What the stand-in model answers: text, tool calls, or an HTTP error."""

    content: str | None = None
    tool_calls: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    status: int = 200

    @classmethod
    def text(cls, content: str) -> Reply:
        """A plain answer."""
        return cls(content=content)

    @classmethod
    def calls(cls, *calls: tuple[str, Mapping[str, Any]]) -> Reply:
        """A request to run tools: ``(tool name, arguments)`` pairs, in order."""
        return cls(tool_calls=tuple(calls))

    @classmethod
    def structured(cls, value: Mapping[str, Any], tool: str = "final_result") -> Reply:
        """A structured answer, as ``call_parse`` asks for it (a call of its output tool)."""
        return cls(tool_calls=((tool, value),))

    @classmethod
    def error(cls, status: int = 500) -> Reply:
        """An HTTP error (the client sees a failed request)."""
        return cls(status=status)


Responder = Callable[[dict[str, Any]], "Reply | str"]


def scripted(replies: Iterable[Reply | str]) -> Responder:
    """A responder answering each request with the next of ``replies`` (the last repeats)."""
    queue = list(replies)
    if not queue:
        raise ValueError("scripted() needs at least one reply")

    def respond(request: dict[str, Any]) -> Reply | str:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return respond


def tool_results(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``role: tool`` messages of a chat-completions request (what tools returned)."""
    return [m for m in request.get("messages", []) if m.get("role") == "tool"]


def last_user_text(request: dict[str, Any]) -> str:
    """The text of the request's last user message ("" when there is none)."""
    for message in reversed(request.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):  # content parts
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


@dataclass
class StandInModel:
    """An OpenAI-compatible chat-completions server on ``127.0.0.1`` (a random port)."""

    responder: Responder
    model_name: str = "stand-in"
    #: Every request body received, in order.
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: asyncio.Server | None = field(default=None, repr=False)
    _answered: int = field(default=0, repr=False)
    _handlers: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    @property
    def port(self) -> int:
        """The port it listens on (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("the stand-in model server is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url`` to use: ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def close(self) -> None:
        """Stop listening and drop open connections."""
        if self._server is not None:
            self._server.close()
            await cancel_and_wait(*self._handlers)
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> StandInModel:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while await self._exchange(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away
        except asyncio.CancelledError:
            pass  # close() hung up: end quietly (asyncio logs a handler that ends cancelled)
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; ``False`` when the connection is to be closed."""
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _MAX_HEADER_BYTES:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = [*lines[0].split(" "), "", ""][:3]
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
        status, payload = self._answer(method, path, body)
        data = json.dumps(payload).encode()
        writer.write(
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        await writer.drain()
        return headers.get("connection", "").lower() != "close"

    def _answer(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if method != "POST" or not path.rstrip("/").endswith("/chat/completions"):
            return 404, {"error": {"message": f"no route {method} {path}", "type": "not_found"}}
        try:
            request = json.loads(body)
        except ValueError:
            return 400, {"error": {"message": "the body is not JSON", "type": "invalid_request"}}
        self.requests.append(request)
        reply = self.responder(request)
        reply = Reply.text(reply) if isinstance(reply, str) else reply
        if reply.status != 200:
            return reply.status, {"error": {"message": "stand-in error", "type": "server_error"}}
        return 200, self._completion(request, reply)

    def _completion(self, request: dict[str, Any], reply: Reply) -> dict[str, Any]:
        self._answered += 1
        number = self._answered
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{number}_{n}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(dict(args))},
                }
                for n, (name, args) in enumerate(reply.tool_calls, 1)
            ]
        prompt_tokens = len(json.dumps(request.get("messages", []))) // 4
        completion_tokens = len(json.dumps(message)) // 4
        return {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": 0,
            "model": str(request.get("model") or self.model_name),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
