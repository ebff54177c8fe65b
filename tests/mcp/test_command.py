"""``romancy mcp``: what it serves from a module, its HTTP mode, and its mistakes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from mcp import Client

from romancy.cli import main
from romancy.wire.status import InstanceStatus

from .support import MODULE, REPO, answer, command, wait_status


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_module(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def running(*args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        *command(*args), cwd=REPO, stderr=asyncio.subprocess.PIPE
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def wait_listening(port: int, process: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(30):
        while True:
            assert process.returncode is None, await process.stderr.read()  # type: ignore[union-attr]
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            await asyncio.sleep(0.1)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["mcp"], "the following arguments are required: --module/-m"),
        (["mcp", "-m", MODULE, "--http", "localhost"], "--http takes HOST:PORT"),
        (["mcp", "-m", MODULE, "--http", "127.0.0.1:70000"], "a port from 1 to 65535"),
    ],
)
def test_usage_mistakes_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_modules_it_cannot_serve_exit_1_naming_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = write_module(tmp_path, "mcp_empty", "VALUE = 1\n")
    broken = write_module(tmp_path, "mcp_broken", "raise RuntimeError('no config')\n")
    own_app = write_module(
        tmp_path,
        "mcp_own_app",
        f"""
        import romancy

        app = romancy.App(database="sqlite:///{tmp_path / "own.db"}")

        @romancy.workflow
        async def mcp_cli_own(ctx):
            return 1
        """,
    )
    db = f"sqlite:///{tmp_path / 'never.db'}"
    cases = [
        (["-m", str(empty)], f"module {empty} defines no workflow"),
        (["-m", str(broken)], "failed: RuntimeError: no config"),
        (["-m", "no_such_module_here"], "--module no_such_module_here: no such module"),
        (["-m", str(tmp_path / "missing.py")], "no such file"),
        (["-m", str(own_app), "--db", db], "defines its own App"),
    ]
    for argv, message in cases:
        assert main(["mcp", *argv]) == 1, argv
        assert message in capsys.readouterr().err
    assert not (tmp_path / "never.db").exists()
    assert not (tmp_path / "own.db").exists()


async def test_serves_a_module_app_over_http(
    tmp_path: Path, make_database: Callable[[], str]
) -> None:
    database = make_database()
    module = write_module(
        tmp_path,
        "mcp_http_module",
        f"""
        import romancy

        app = romancy.App(database={database!r})

        @romancy.workflow
        async def mcp_cli_double(ctx, number: int) -> int:
            return number * 2
        """,
    )
    port = free_port()
    async with running("mcp", "--module", str(module), "--http", f"127.0.0.1:{port}") as process:
        await wait_listening(port, process)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            assert names == [f"mcp_cli_double_{a}" for a in ("start", "status", "result", "cancel")]
            started = answer(await client.call_tool("mcp_cli_double_start", {"input": 21}))
            instance_id = started["instance_id"]
            await wait_status(
                client, "mcp_cli_double_status", instance_id, InstanceStatus.COMPLETED
            )
            result = answer(
                await client.call_tool("mcp_cli_double_result", {"instance_id": instance_id})
            )
            assert result["output"] == 42
        process.terminate()
        await process.wait()
        line = (await process.stderr.read()).decode()  # type: ignore[union-attr]
        assert f"4 tools at http://127.0.0.1:{port}/mcp" in line


def test_stdio_server_exits_0_when_the_client_goes_away(make_database: Callable[[], str]) -> None:
    done = subprocess.run(
        command("mcp", "--db", make_database(), "--module", MODULE),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
