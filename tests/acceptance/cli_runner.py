"""Run the real ``romancy`` command as a user does: a separate process, piped or on a pty."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from dataclasses import dataclass


def romancy(
    *args: str, input: str | None = None, cwd: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m romancy ARGS`` with stdin, stdout and stderr piped."""
    return subprocess.run(
        [sys.executable, "-m", "romancy", *args],
        capture_output=True,
        text=True,
        timeout=180,
        input=input,
        cwd=cwd,
    )


@dataclass(frozen=True)
class TerminalRun:
    returncode: int
    stdout: str
    #: What reached the terminal on stdin's, stderr's (and the prompt's) pty.
    terminal: str


def romancy_on_terminal(*args: str, typed: str = "") -> TerminalRun:
    """``romancy ARGS`` with stdin and stderr on a pseudo-terminal (stdout piped).

    ``typed`` is written to the terminal as if the user typed it.
    """
    controller, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "romancy", *args],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    if typed:
        os.write(controller, typed.encode())
    seen = bytearray()
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    stdout = process.stdout.read() if process.stdout else ""
    returncode = process.wait(timeout=180)
    return TerminalRun(returncode, stdout, seen.decode(errors="replace"))
