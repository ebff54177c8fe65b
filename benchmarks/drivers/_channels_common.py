"""What the channel-benchmark drivers share (standard library only).

A channel driver runs in its library's own virtualenv, so nothing here imports romancy or
edda: each driver wraps its library in a small adapter object and hands it to the loops
below. Roles (the first argument of a driver):

  latency-consumer   runs consumer workflows that loop ``receive`` on a broadcast
                     channel; an activity after each receive notes ``time.time()`` minus
                     the publish timestamp carried in the message. Before each message it
                     waits until its instance is ``waiting_for_message`` and then tells
                     the publisher ``ready <seq>`` over a pipe (``--sync-fd``).
  latency-publisher  a separate process: for each message, waits for ``ready <seq>``,
                     pauses a random while, stamps ``time.time()`` into the data and
                     publishes from plain code (no workflow)
  throughput         one process: ``--consumers`` workflows take turns on a competing
                     channel while the same process publishes ``--messages`` messages,
                     then one stop message per consumer

Every role reports one JSON object on a stdout line that starts with ``RESULT_MARKER``.
A driver defines its workflows around ``consume_latency`` and ``consume_work``, and hands
``serve`` how to run a loop with its app and how to publish from plain code.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol

from _common import RESULT_MARKER, emit, now, percentile

__all__ = [
    "RECORD",
    "RESULT_MARKER",
    "ROLES",
    "AdapterBase",
    "ConsumerAdapter",
    "Loop",
    "ThroughputAdapter",
    "consume_latency",
    "consume_work",
    "emit",
    "parse_args",
    "run_latency_consumer",
    "run_latency_publisher",
    "run_throughput",
    "serve",
]

ROLES = ("latency-consumer", "latency-publisher", "throughput")
LATENCY_CHANNEL = "bench-latency"
WORK_CHANNEL = "bench-work"
#: How often a driver looks at an instance's status while it waits for a state change.
STATUS_POLL = 0.002


#: (option, type, default, help) of the options after --db and --notify (bool: a flag)
OPTIONS: list[tuple[str, type, Any, str]] = [
    ("--messages", int, 100, "messages to publish"),
    (
        "--warmup",
        int,
        2,
        "latency: messages sent first and left out of the figures (start-up effects)",
    ),
    (
        "--per-instance",
        int,
        10,
        "latency: messages one consumer instance receives before it completes",
    ),
    ("--sync-fd", int, -1, "latency: handshake pipe end"),
    (
        "--pause-ms",
        str,
        "20,60",
        "latency: publisher's pause after 'ready', uniform in LO,HI milliseconds",
    ),
    ("--seed", int, 1, "latency: seed of the pauses"),
    (
        "--poll-interval",
        float,
        1.0,
        "romancy: workflow_resumption_interval (Edda's is fixed at 1 s)",
    ),
    (
        "--edda-notify-fallback",
        int,
        30,
        "Edda: notify_fallback_interval, its polling interval while NOTIFY is on",
    ),
    ("--consumers", int, 4, "throughput: consumers"),
    (
        "--receive-timeout",
        int,
        10,
        "throughput: seconds a consumer's receive waits before it times out and "
        "receives again (a safety net for a consumer nobody wakes)",
    ),
    ("--upfront", bool, False, "throughput: publish everything before the consumers start"),
    ("--deadline", float, 600, "give up after seconds"),
]


def parse_args(prog: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("--db", required=True, help="database URL in this library's dialect")
    parser.add_argument(
        "--notify",
        choices=("on", "off", "auto"),
        default="auto",
        help="PostgreSQL LISTEN/NOTIFY: forced on, forced off, or the library's default",
    )
    for flag, kind, default, text in OPTIONS:
        if kind is bool:
            parser.add_argument(flag, action="store_true", help=text)
        else:
            parser.add_argument(flag, type=kind, default=default, help=text)
    args = parser.parse_args()
    lo, hi = (float(x) for x in args.pause_ms.split(","))
    args.pause = (lo / 1000.0, hi / 1000.0)
    return args


def notify_choice(args: argparse.Namespace) -> bool | None:
    """``--notify`` as a tri-state: True, False, or None (the library decides)."""
    return {"on": True, "off": False, "auto": None}[args.notify]


# ----------------------------------------------------------------------- handshake


class _SyncWriter:
    """The consumer's end of the handshake pipe."""

    def __init__(self, fd: int) -> None:
        if fd < 0:
            raise SystemExit("--sync-fd is required for the latency roles")
        self.fd = fd

    def send(self, line: str) -> None:
        os.write(self.fd, (line + "\n").encode())

    def close(self) -> None:
        os.close(self.fd)


class _SyncReader:
    """The publisher's end of the handshake pipe, read without polling."""

    def __init__(self, fd: int) -> None:
        if fd < 0:
            raise SystemExit("--sync-fd is required for the latency roles")
        self.fd = fd
        self.reader: asyncio.StreamReader | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self.reader = asyncio.StreamReader()
        protocol = asyncio.StreamReaderProtocol(self.reader)
        await loop.connect_read_pipe(lambda: protocol, os.fdopen(self.fd, "rb", 0))

    async def expect(self, wanted: str) -> None:
        assert self.reader is not None
        line = (await self.reader.readline()).decode().strip()
        if line != wanted:
            raise RuntimeError(f"handshake: expected {wanted!r}, got {line or 'EOF'!r}")


# ------------------------------------------------------------------------ adapters


class ConsumerAdapter(Protocol):
    """What the latency consumer loop needs from a library."""

    #: (seq, seconds from publish to the activity after receive), appended live
    live: list[tuple[int, float]]
    arrived: asyncio.Event

    async def start_consumer(self, count: int) -> str: ...

    async def status(self, instance_id: str) -> str: ...

    async def result(self, instance_id: str, timeout: float) -> Any: ...


class ThroughputAdapter(Protocol):
    """What the throughput loop needs from a library."""

    #: perf_counter() stamps taken by each consumer's last activity, appended live
    finished: list[float]

    async def start_worker(self, receive_timeout: int) -> str: ...

    async def status(self, instance_id: str) -> str: ...

    async def publish(self, data: dict[str, Any]) -> None: ...

    async def result(self, instance_id: str, timeout: float) -> Any: ...


class Recorder:
    """What the activities of this process's workflows note, read live by the loops."""

    def __init__(self) -> None:
        #: (seq, seconds from publish to the activity after receive)
        self.live: list[tuple[int, float]] = []
        self.arrived = asyncio.Event()
        #: perf_counter() stamps taken by each consumer's last activity
        self.finished: list[float] = []

    def note_latency(self, seq: int, sent_at: float) -> float:
        latency = time.time() - sent_at
        self.live.append((seq, latency))
        self.arrived.set()
        return latency

    def note_finished(self) -> None:
        self.finished.append(now())


#: The one recorder of a driver process (its activities write, its adapter reads).
RECORD = Recorder()


class AdapterBase:
    """The part of a driver's adapter that is the same in every library."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.live = RECORD.live
        self.arrived = RECORD.arrived
        self.finished = RECORD.finished


async def wait_status(
    status: Callable[[str], Awaitable[str]], instance_id: str, wanted: str, deadline: float
) -> None:
    while True:
        current = await status(instance_id)
        if current == wanted:
            return
        if current in ("failed", "cancelled") or now() > deadline:
            raise RuntimeError(f"instance {instance_id} is {current!r}, waited for {wanted!r}")
        await asyncio.sleep(STATUS_POLL)


# ------------------------------------------------------------------------ workflows


async def consume_latency(
    count: int,
    receive: Callable[[], Awaitable[Any]],
    note: Callable[[int, float], Awaitable[Any]],
) -> list[int]:
    """The latency consumer workflow, after it subscribed: ``count`` times receive a
    message and note its latency in an activity; the sequence numbers received."""
    seqs: list[int] = []
    for _ in range(count):
        message = await receive()
        await note(message.data["seq"], message.data["sent_at"])
        seqs.append(message.data["seq"])
    return seqs


async def consume_work(
    receive: Callable[[], Awaitable[Any]],
    timeout_error: type[Exception],
    finished: Callable[[], Awaitable[Any]],
) -> dict[str, Any]:
    """The throughput worker workflow, after it subscribed: receive until a stop message,
    then note the time in an activity; what it took and how often receive timed out."""
    seqs: list[int] = []
    timeouts = 0
    while True:
        try:
            message = await receive()
        except timeout_error:
            timeouts += 1
            continue
        if message.data.get("stop"):
            break
        seqs.append(message.data["seq"])
    await finished()
    return {"seqs": seqs, "timeouts": timeouts}


# ------------------------------------------------------------------------- latency


def summarize_latency(samples: Sequence[float]) -> dict[str, Any]:
    ms = [s * 1000.0 for s in samples]
    return {
        "count": len(ms),
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "mean_ms": statistics.fmean(ms),
        "over_100ms_pct": 100.0 * sum(1 for x in ms if x > 100.0) / len(ms),
    }


async def run_latency_consumer(
    adapter: ConsumerAdapter, args: argparse.Namespace
) -> dict[str, Any]:
    """Feed the publisher ``ready <seq>`` whenever a consumer instance waits; collect."""
    sync = _SyncWriter(args.sync_fd)
    deadline = now() + args.deadline
    total, per = args.warmup + args.messages, max(1, args.per_instance)
    received: list[int] = []
    seq = instances = 0
    try:
        while seq < total:
            count = min(per, total - seq)
            instance_id = await adapter.start_consumer(count)
            instances += 1
            for _ in range(count):
                # Only once the instance is suspended in receive is the next message a
                # real wake-up (not a message found pending by a running instance).
                await wait_status(adapter.status, instance_id, "waiting_for_message", deadline)
                adapter.arrived.clear()
                sync.send(f"ready {seq}")
                while len(adapter.live) <= seq:
                    left = deadline - now()
                    if left <= 0:
                        raise RuntimeError(f"message {seq} was not received in time")
                    try:
                        await asyncio.wait_for(adapter.arrived.wait(), left)
                    except TimeoutError:
                        continue
                    adapter.arrived.clear()
                seq += 1
            # The instance returns the sequence numbers it received (from its history).
            received += list(await adapter.result(instance_id, max(1.0, deadline - now())))
        sync.send("done")
    finally:
        sync.close()
    seqs = [s for s, _ in adapter.live]
    if seqs != list(range(total)) or received != list(range(total)):
        raise RuntimeError(
            f"messages received out of order or not exactly once: live {seqs[:20]}..., "
            f"results {received[:20]}..."
        )
    latencies = [lat for _, lat in adapter.live]
    measured = latencies[args.warmup :]
    return {
        **summarize_latency(measured),
        "instances": instances,
        "per_instance": per,
        "warmup": args.warmup,
        "warmup_ms": [round(x * 1000.0, 3) for x in latencies[: args.warmup]],
        "samples_ms": [round(x * 1000.0, 3) for x in measured],
    }


async def run_latency_publisher(
    publish: Callable[[dict[str, Any]], Awaitable[None]], args: argparse.Namespace
) -> dict[str, Any]:
    """Publish one message per ``ready``, stamped with the wall clock just before."""
    sync = _SyncReader(args.sync_fd)
    await sync.open()
    rng = random.Random(args.seed)
    lo, hi = args.pause
    durations: list[float] = []
    for seq in range(args.warmup + args.messages):
        await sync.expect(f"ready {seq}")
        await asyncio.sleep(rng.uniform(lo, hi))
        began = now()
        await publish({"seq": seq, "sent_at": time.time()})
        durations.append(now() - began)
    await sync.expect("done")
    durations = durations[args.warmup :]
    return {
        "published": len(durations),
        "publish_p50_ms": percentile(durations, 50) * 1000.0,
        "publish_p99_ms": percentile(durations, 99) * 1000.0,
        "pause_ms": [lo * 1000.0, hi * 1000.0],
    }


# ---------------------------------------------------------------------- throughput


async def run_throughput(adapter: ThroughputAdapter, args: argparse.Namespace) -> dict[str, Any]:
    """Competing consumers; time until all of them ended (each after one stop message).

    Concurrent (default): the consumers wait first, then this process publishes the
    messages one after another while they consume, then the stops; the clock runs from
    the first publish. ``--upfront``: the messages and the stops are published first
    (timed apart), then the consumers start, all at once; the clock runs from their start.
    """
    deadline = now() + args.deadline
    stops = args.consumers
    consumers: list[str] = []
    if not args.upfront:
        consumers = [await adapter.start_worker(args.receive_timeout) for _ in range(stops)]
        for instance_id in consumers:
            await wait_status(adapter.status, instance_id, "waiting_for_message", deadline)
    began = publishing = now()
    for seq in range(args.messages):
        await adapter.publish({"seq": seq})
    published = now()
    for _ in range(stops):
        await adapter.publish({"stop": True})
    if args.upfront:
        began = now()
        starts = [adapter.start_worker(args.receive_timeout) for _ in range(stops)]
        consumers = list(await asyncio.gather(*starts))
    results = [await adapter.result(iid, max(1.0, deadline - now())) for iid in consumers]
    if len(adapter.finished) != len(consumers):
        raise RuntimeError(f"{len(adapter.finished)} of {len(consumers)} consumers finished")
    ended = max(adapter.finished)
    taken = [seq for r in results for seq in r["seqs"]]
    missing = sorted(set(range(args.messages)) - set(taken))
    duplicates = len(taken) - len(set(taken))
    wall = ended - began
    return {
        "mode": "upfront" if args.upfront else "concurrent",
        "messages": args.messages,
        "consumers": len(consumers),
        "wall_s": wall,
        "msgs_per_s": args.messages / wall if wall > 0 else None,
        "publish_s": published - publishing,
        "publish_msgs_per_s": args.messages / (published - publishing),
        "per_consumer": [len(r["seqs"]) for r in results],
        "receive_timeouts": sum(int(r["timeouts"]) for r in results),
        "duplicates": duplicates,
        "missing": len(missing),
        "exactly_once": not missing and duplicates == 0 and len(taken) == args.messages,
    }


# ---------------------------------------------------------------------------- main


#: ``run_latency_consumer`` or ``run_throughput``: (adapter, args) -> result
Loop = Callable[[Any, argparse.Namespace], Awaitable[dict[str, Any]]]
Role = Coroutine[Any, Any, dict[str, Any]]


def serve(
    prog: str,
    with_app: Callable[[Loop, argparse.Namespace], Role],
    publisher: Callable[[argparse.Namespace], Role],
) -> None:
    """A driver's main: run the role named on the command line and report its result.
    ``with_app(loop, args)`` runs ``run_latency_consumer`` or ``run_throughput`` with an
    adapter on a started app; ``publisher(args)`` is the latency publisher."""
    logging.basicConfig(level=logging.WARNING)
    args = parse_args(prog)
    if args.role == "latency-publisher":
        emit(asyncio.run(publisher(args)))
    else:
        loop = run_latency_consumer if args.role == "latency-consumer" else run_throughput
        emit(asyncio.run(with_app(loop, args)))
