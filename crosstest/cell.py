"""A matrix cell: one case, one backend, a sender runtime and a receiver runtime.

Cases (``conformance/<case>/case.py``) get a :class:`Cell` and drive the runtimes' crosstest
programs through it; they fail with ``cell.expect(condition, why)``. A case needs nothing
but its cell at run time (it names ``Cell`` for type checking only, as
``conformance/_case.Cell``), so the same case file runs from a checkout and from the
installed ``romancy.conformance``. Cells sharing a
PostgreSQL or MySQL database stay apart by channel names; each SQLite cell gets a file of
its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from sqlalchemy import ColumnElement, Table, func, select

from romancy.cloudevent_http import STRUCTURED
from romancy.storage import Storage
from romancy.storage.tables import (
    channel_messages,
    channel_subscriptions,
    workflow_history_archive,
    workflow_instances,
)
from romancy.wire.status import InstanceStatus

from .process import CellFailure, CrosstestRun
from .runtimes import ROMANCY_CLI, Runtime

#: Receive timeout for subscribers that are expected to get a message.
RECEIVE_TIMEOUT = 25


@dataclass
class Jobs:
    """What the consumers of numbered jobs (:meth:`Cell.start_job`) reported."""

    #: How many times each job number was received.
    received: Counter[int] = field(default_factory=Counter)
    #: Why each consumer that took no job took none, in consumer order: ``<label>: <error>``
    #: as it reported, or how its program failed.
    missed: list[str] = field(default_factory=list)
    #: The failures of consumer programs that reported nothing, in consumer order.
    failures: list[BaseException] = field(default_factory=list)

    def twice(self) -> list[int]:
        """The job numbers received more than once."""
        return sorted(job for job, seen in self.received.items() if seen > 1)

    def lost(self, published: int) -> list[int]:
        """The job numbers below ``published`` that nobody received."""
        return sorted(set(range(published)) - set(self.received))


@dataclass
class Cell:
    """Where a case runs, and the helpers it drives the runtimes with."""

    case: str
    backend: str
    sender: Runtime
    receiver: Runtime
    url: str
    tag: str
    storage: Storage
    #: Each program's stderr is kept here as ``<tag>-<worker id>.log``.
    logs: Path | None = None
    _runs: list[CrosstestRun] = field(default_factory=list)
    receive_timeout: ClassVar[int] = RECEIVE_TIMEOUT

    @staticmethod
    def expect(condition: bool, message: str) -> None:
        """Fail the cell with ``message`` unless ``condition`` holds."""
        if not condition:
            raise CellFailure(message)

    def channel(self, name: str) -> str:
        """A channel name no other cell uses."""
        return f"ct-{self.tag}-{name}"

    async def launch(self, runtime: Runtime, label: str, **flags: Any) -> CrosstestRun:
        """Start ``runtime``'s crosstest program on this cell's database."""
        worker = f"{runtime.name}-{self.tag}-{len(self._runs) + 1}"
        log = self.logs / f"{self.case}-{worker}.log" if self.logs else None
        run = CrosstestRun(
            runtime, label, log=log, db=runtime.database(self.url), worker_id=worker, **flags
        )
        self._runs.append(run)
        return await run.start()

    async def listen(
        self,
        label: str,
        *,
        runtime: Runtime | None = None,
        mode: str = "subscriber",
        timeout: float = RECEIVE_TIMEOUT,
        **flags: Any,
    ) -> CrosstestRun:
        """Start a receiving program (``subscriber`` or ``event-waiter``) of ``runtime``
        (default: the receiver) that gives up after ``timeout`` seconds."""
        return await self.launch(
            runtime or self.receiver, label, mode=mode, timeout=timeout, **flags
        )

    async def subscribe_many(
        self, runtime: Runtime, label: str, count: int, **flags: Any
    ) -> list[CrosstestRun]:
        """``count`` subscribers of ``runtime``, each with its own workflow instance."""
        return [
            await self.listen(f"{label} {n + 1}", runtime=runtime, **flags) for n in range(count)
        ]

    async def waiting_on_both_sides(
        self, label: str, per_side: int, **flags: Any
    ) -> list[CrosstestRun]:
        """``per_side`` subscribers of the receiver runtime (``receiver <label> <n>``), then
        as many of the sender runtime (``sender <label> <n>``), returned once all wait."""
        runs = await self.subscribe_many(self.receiver, f"receiver {label}", per_side, **flags)
        runs += await self.subscribe_many(self.sender, f"sender {label}", per_side, **flags)
        await self.until_waiting(runs)
        return runs

    async def one_subscriber(self, channel: str) -> CrosstestRun:
        """One subscriber of the receiver runtime on ``channel``, already waiting."""
        (subscriber,) = await self.subscribe_many(self.receiver, "subscriber", 1, channel=channel)
        await self.until_waiting([subscriber])
        return subscriber

    async def send(self, runtime: Runtime, label: str, **flags: Any) -> dict[str, Any]:
        """Run a ``publisher`` or ``send-to`` program to its end; fail unless it succeeded."""
        return await self.sent(await self.launch(runtime, label, **flags))

    async def sent(self, run: CrosstestRun) -> dict[str, Any]:
        """The result of a ``publisher`` or ``send-to`` program; fail unless it succeeded."""
        reported = await run.result(60)
        key = "sent" if run.flags.get("mode") == "send-to" else "published"
        self.expect(reported.get(key) is True, f"{run.label} reported {reported}")
        return reported

    async def start_job(self, runtime: Runtime, channel: str, job: int) -> CrosstestRun:
        """Start a publisher of ``runtime`` sending job number ``job`` on ``channel``
        (text ``job <n>``, data ``{"job": n}``); :meth:`jobs_taken` counts them."""
        return await self.launch(
            runtime,
            f"{runtime.name} publisher {job}",
            mode="publisher",
            channel=channel,
            message=f"job {job}",
            data=json.dumps({"job": job}),
        )

    async def jobs_taken(self, consumers: list[CrosstestRun], timeout: float) -> Jobs:
        """Wait for every consumer of :meth:`start_job` messages; what they took."""
        results = await asyncio.gather(
            *(c.result(timeout) for c in consumers), return_exceptions=True
        )
        jobs = Jobs()
        for consumer, result in zip(consumers, results, strict=True):
            if isinstance(result, BaseException):
                jobs.failures.append(result)
                jobs.missed.append(str(result))
            elif result.get("received") is True:
                jobs.received[int(result["message"]["data"]["job"])] += 1
            else:
                jobs.missed.append(f"{consumer.label}: {result.get('error')}")
        return jobs

    async def publish(
        self,
        channel: str,
        *,
        runtime: Runtime | None = None,
        label: str = "publisher",
        message: str | None = None,
        data: Any = None,
        metadata: Any = None,
    ) -> dict[str, Any]:
        """Publish once on ``channel`` with ``runtime`` (default: the sender) and wait for
        it; ``data`` and ``metadata`` are sent as JSON."""
        flags: dict[str, Any] = {"channel": channel}
        if message is not None:
            flags["message"] = message
        for name, value in (("data", data), ("metadata", metadata)):
            if value is not None:
                flags[name] = json.dumps(value, ensure_ascii=False)
        return await self.send(runtime or self.sender, label, mode="publisher", **flags)

    async def received(
        self, run: CrosstestRun, timeout: float = RECEIVE_TIMEOUT + 30
    ) -> dict[str, Any]:
        """The result of a receiving program; fail unless it received something."""
        got = await run.result(timeout)
        self.expect(got.get("received") is True, f"{run.label} got nothing: {got}")
        return got

    async def until_waiting(self, runs: list[CrosstestRun], timeout: float = 45) -> list[str]:
        """Wait until each run's instance waits for a message; returns their ids."""
        ids = [await run.instance_id(timeout) for run in runs]
        instances = workflow_instances.c
        await self.eventually(
            lambda: self._count(
                workflow_instances,
                instances.instance_id.in_(ids),
                instances.status == InstanceStatus.WAITING_FOR_MESSAGE,
            ),
            lambda waiting: waiting == len(ids),
            timeout,
            f"{len(ids)} instances waiting for a message",
        )
        return ids

    async def subscribers(self, channel: str) -> int:
        """How many subscriptions ``channel`` has (any runtime)."""
        return await self._count(channel_subscriptions, channel_subscriptions.c.channel == channel)

    async def messages_left(self, channel: str) -> int:
        """How many messages of ``channel`` are still in ``channel_messages``."""
        return await self._count(channel_messages, channel_messages.c.channel == channel)

    async def _count(self, table: Table, *where: ColumnElement[bool]) -> int:
        """How many rows of ``table`` meet every condition of ``where``."""
        query = select(func.count()).select_from(table).where(*where)
        async with self.storage.transaction(read_only=True) as tx:
            return int(await tx.connection.scalar(query) or 0)

    async def statuses(self, ids: list[str]) -> dict[str, str]:
        """The stored status of each instance in ``ids`` that exists."""
        query = select(workflow_instances.c.instance_id, workflow_instances.c.status).where(
            workflow_instances.c.instance_id.in_(ids)
        )
        async with self.storage.transaction(read_only=True) as tx:
            rows = (await tx.connection.execute(query)).all()
        return {str(row.instance_id): str(row.status) for row in rows}

    async def successor(self, instance_id: str) -> str | None:
        """The instance a peer's recur started from ``instance_id`` (``continued_from``)."""
        query = select(workflow_instances.c.instance_id).where(
            workflow_instances.c.continued_from == instance_id
        )
        async with self.storage.transaction(read_only=True) as tx:
            found = await tx.connection.scalar(query)
        return None if found is None else str(found)

    async def archived(self, instance_id: str) -> int:
        """How many of ``instance_id``'s history rows recur moved to the archive."""
        archive = workflow_history_archive
        return await self._count(archive, archive.c.instance_id == instance_id)

    async def run_cli(self, runtime: Runtime | None, *args: str) -> tuple[int, str, str]:
        """``runtime``'s CLI (``None``: our ``romancy``) with ``args`` (``{db}`` is this
        cell's database in the form the runtime takes), run in a scratch folder, so a CLI
        that opens a default database file opens an empty one; its exit status, stdout and
        stderr."""
        db = runtime.database(self.url) if runtime else self.url
        words = [db if arg == "{db}" else arg for arg in args]
        name = runtime.name if runtime else "romancy-py"
        with tempfile.TemporaryDirectory(prefix="cli-") as scratch:
            process = await asyncio.create_subprocess_exec(
                *(runtime.cli if runtime else ROMANCY_CLI),
                *words,
                cwd=scratch,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                out, err = await asyncio.wait_for(process.communicate(), 60)
            except TimeoutError:
                process.kill()
                await process.wait()
                raise CellFailure(f"{name} CLI {' '.join(args)} hung") from None
        assert process.returncode is not None
        return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    async def cancel_over_http(self, url: str, instance_id: str) -> dict[str, Any]:
        """``POST /cancel/{id}`` on a runtime's endpoint; its JSON answer unless it failed."""
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(f"{url}cancel/{quote(instance_id, safe='')}")
        if response.status_code // 100 != 2:
            raise CellFailure(
                f"cancel {instance_id} answered {response.status_code}: {response.text[:300]}"
            )
        answer = response.json()
        return answer if isinstance(answer, dict) else {"answer": answer}

    async def eventually(
        self,
        probe: Callable[[], Awaitable[Any]],
        accept: Callable[[Any], bool],
        timeout: float,
        what: str,
    ) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = await probe()
            if accept(value):
                return value
            if loop.time() > deadline:
                raise CellFailure(f"timed out after {timeout:g} s waiting for {what}")
            await asyncio.sleep(0.2)

    @contextlib.asynccontextmanager
    async def serving(self, runtime: Runtime, label: str) -> AsyncIterator[str]:
        """``runtime``'s HTTP endpoint on 127.0.0.1, on this cell's database; its URL."""
        port = free_port()
        run = await self.launch(runtime, label, mode="serve", port=port)
        url = f"http://127.0.0.1:{port}/"
        try:
            try:
                await self.eventually(
                    lambda: _accepts(port), bool, 45, f"{label} to listen on port {port}"
                )
            except CellFailure as failure:
                raise CellFailure(f"{failure}; stderr: {run.stderr_tail()}") from None
            yield url
        finally:
            await run.stop()

    async def post_event(self, url: str, event: dict[str, Any]) -> None:
        """POST a structured-mode CloudEvent; any 2xx is accepted."""
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(url, json=event, headers={"content-type": STRUCTURED})
        if response.status_code // 100 != 2:
            raise CellFailure(f"POST {url} answered {response.status_code}: {response.text[:300]}")

    async def close(self) -> None:
        """Stop whatever the case left running."""
        for run in self._runs:
            await run.stop()


async def _accepts(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
