"""One crosstest program run: launched with flags, its stderr watched, its JSON collected."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
from pathlib import Path
from typing import Any

from romancy.validation import validate

from .runtimes import Runtime

#: Every crosstest program logs this line (Go: ``log.Printf``) once its workflow started.
_STARTED = re.compile(r"instance started: (\S+)")
_LOGGED_PROBLEM = re.compile(
    r"Traceback|[A-Za-z]Error\b|\((psycopg|pymysql|asyncpg|aiomysql|sqlite3)"
)


class CellFailure(Exception):
    """A cell's expectation did not hold; the message says which and why."""


class CrosstestRun:
    """A crosstest process of one runtime."""

    def __init__(
        self, runtime: Runtime, label: str, *, log: Path | None = None, **flags: object
    ) -> None:
        self.runtime = runtime
        self.label = label
        self.flags = flags
        self._log = log
        self._process: asyncio.subprocess.Process | None = None
        self._stderr: list[str] = []
        self._started = asyncio.Event()
        self._instance_id: str | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> CrosstestRun:
        args = [f"--{name.replace('_', '-')}={value}" for name, value in self.flags.items()]
        self._process = await asyncio.create_subprocess_exec(
            *self.runtime.command,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
        )
        self._reader = asyncio.create_task(self._read_stderr())
        return self

    async def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        async for raw in self._process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self._stderr.append(line)
            found = _STARTED.search(line)
            if found and self._instance_id is None:
                self._instance_id = found.group(1)
                self._started.set()
        if self._log is not None:
            header = f"# {self.label} ({self.runtime.name}) {self.flags}\n"
            self._log.write_text(header + "\n".join(self._stderr) + "\n")

    async def instance_id(self, timeout: float = 30) -> str:
        """The instance id the program logged, once its workflow has started."""
        try:
            await asyncio.wait_for(self._started.wait(), timeout)
        except TimeoutError:
            raise CellFailure(
                f"{self.label} ({self.runtime.name}) logged no started instance within "
                f"{timeout:g} s; stderr: {self.stderr_tail()}"
            ) from None
        assert self._instance_id is not None
        return self._instance_id

    async def result(self, timeout: float) -> dict[str, Any]:
        """The program's JSON result once it exits 0; :class:`CellFailure` otherwise."""
        assert self._process is not None
        try:
            stdout = await asyncio.wait_for(self._finish(), timeout)
        except TimeoutError:
            await self.stop()
            raise CellFailure(
                f"{self.label} ({self.runtime.name}) still running after {timeout:g} s; "
                f"stderr: {self.stderr_tail()}"
            ) from None
        if self._process.returncode != 0:
            raise CellFailure(
                f"{self.label} ({self.runtime.name}) exited {self._process.returncode}: "
                f"{self.stderr_tail()}"
            )
        what = f"{self.label} ({self.runtime.name})"
        output = first_json_object(stdout.decode(), what)
        # Every runtime's output must have the shape a script written for another expects.
        problems = validate("crosstest-output", output)
        if problems:
            raise CellFailure(f"{what} printed output off schema: {'; '.join(problems)}")
        return output

    async def _finish(self) -> bytes:
        """Stdout until the program exits (stderr has its own reader)."""
        assert self._process is not None and self._process.stdout is not None
        stdout = await self._process.stdout.read()
        await self._process.wait()
        if self._reader is not None:
            await self._reader
        return stdout

    async def stop(self) -> None:
        """Interrupt the program (a server) and wait for it; kill it if it lingers."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)

    def stderr_tail(self, lines: int = 6) -> str:
        """The last lines of stderr, after the first warning or error logged before them
        (a long SQL error's first line names its cause; its tail only the statement)."""
        tail = self._stderr[-lines:]
        earlier = self._stderr[: -lines or None]
        first = next((line for line in earlier if _LOGGED_PROBLEM.search(line)), None)
        return " | ".join(([first, "…"] if first else []) + tail) or "(empty)"


def first_json_object(text: str, what: str) -> dict[str, Any]:
    """The first JSON object in ``text`` (the programs print exactly one, indented)."""
    start = text.find("{")
    if start < 0:
        raise CellFailure(f"{what} printed no JSON object: {text[-300:]!r}")
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as error:
        raise CellFailure(f"{what} printed malformed JSON ({error}): {text[-300:]!r}") from None
    if not isinstance(value, dict):
        raise CellFailure(f"{what} printed {type(value).__name__}, not an object")
    return value
