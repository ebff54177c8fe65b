"""Every program in examples/ runs end to end, as a user runs it, on every backend.

Each example runs as its own process, ``python examples/NAME.py --db URL ARGS``, on a
fresh database, and its output must show what its docstring promises. To add an
example, add one entry to ``EXAMPLES``; a file in examples/ without an entry fails
``test_every_example_is_in_the_table``, so none goes untested.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.private_server import free_port
from tests.support.servers import REPO

EXAMPLES_DIR = REPO / "examples"

#: Go Romancy's examples; each has a Python counterpart of the same name.
GO_EXAMPLES = {"booking", "channel", "demo", "event_handler", "llm", "mcp", "retry", "saga"}
GO_EXAMPLES |= {"simple", "timer"}


@dataclass(frozen=True)
class Example:
    """How to run one example and what its output must show."""

    #: Arguments after ``--db URL``; ``{port}`` becomes a free TCP port.
    args: tuple[str, ...] = ()
    #: Patterns (``re.MULTILINE``) that must match stdout, each after the previous one.
    expect: tuple[str, ...] = ()
    #: Patterns that must match stdout somewhere, in any order.
    anywhere: tuple[str, ...] = ()
    #: Patterns that must not match stdout at all.
    forbid: tuple[str, ...] = ()
    #: Further assertions on stdout.
    check: Callable[[str], None] | None = None
    #: Extra environment variables.
    env: Mapping[str, str] = field(default_factory=dict)
    #: Seconds before the run counts as hung and is killed.
    timeout: float = 120


def _each_job_handled_once(stdout: str) -> None:
    handled = re.findall(r"^competing: w\d handled \[(.*)\]$", stdout, re.MULTILINE)
    jobs = sorted(job.strip(" '") for line in handled for job in line.split(",") if job)
    assert jobs == ["job-1", "job-2", "job-3", "job-4"], stdout


EXAMPLES: dict[str, Example] = {
    "quickstart": Example(
        expect=(
            r"reserving teapot, cups for o-1001",
            r"waiting 3 s for the warehouse",
            r"charging 42\.50",
            r"^result: \{'order': 'o-1001', 'reservation': 'reservation-o-1001', "
            r"'charged': 42\.5\}$",
        ),
        forbid=(r"compensating",),
    ),
    "simple": Example(
        expect=(
            r"^result: Hello, Alice!$",
            r"^result: こんにちは, Taro!$",
            r"^result: Hola, Carlos!$",
        ),
    ),
    "demo": Example(
        expect=(
            *(rf"\[step {n}/5\]" for n in range(1, 6)),
            r"^result: OrderResult\(order_id='ORD-1001', reservation_id='RES-ORD-1001', "
            r"transaction_id='TX-ORD-1001', tracking_number='TRACK-ORD-1001'\)$",
        ),
        forbid=(r"\[compensation\]",),
    ),
    "retry": Example(
        expect=(
            r"/api/v1/flaky: attempt 1 fails$",
            r"\[hook\] call_flaky_api attempt 1/3 failed",
            r"/api/v1/flaky: attempt 2 fails$",
            r"\[hook\] call_flaky_api attempt 2/3 failed",
            r"/api/v1/flaky: attempt 3 succeeds$",
            r"^flaky API answered 200 after 3 attempts$",
            r"charging card \S+: attempt 1$",
            r"^payment failed with TerminalError: card \S+ was declined$",
            r"^charge_card ran 1 attempt, not retried$",
        ),
        forbid=(r"attempt 4", r"charging card \S+: attempt 2", r"\[hook\] charge_card"),
    ),
    "saga": Example(
        expect=(
            r"booked a hotel in Lisbon",
            r"booked a flight to Lisbon",
            r"booked a car in Lisbon",
            r"charging card \S+: declined",
            r"\[compensation\] cancelling the car",
            r"\[compensation\] cancelling the flight",
            r"\[compensation\] cancelling the hotel",
            r"^trip failed \(card \S+ was declined\); every booking was undone$",
        ),
        forbid=(r"trip booked",),
    ),
    "timer": Example(
        expect=(
            r"reminder: slept [2-9]\.\d s$",
            r"reminder: woke \d+\.\d s after the wake-up time",
            r"^result: \{'slept': [2-9]",
        ),
        forbid=(r"woke -",),
    ),
    "channel": Example(
        expect=(r"^producer published 10 messages$",),
        anywhere=(
            *(
                rf"^broadcast: {name} received \['romancy 1\.0 released', "
                r"'channels now cross runtimes'\]$"
                for name in ("alice", "bob")
            ),
            r"^direct:    alice received 'for alice only'$",
            r"^direct:    bob received 'for bob only'$",
        ),
        check=_each_job_handled_once,
    ),
    "booking": Example(
        args=("--auto-approve", "--port", "{port}"),
        expect=(
            r"^  romancy event \S+ approval\.response "
            r"'\{\"approved\": true, \"approver\": \"manager@example\.com\"\}' "
            r"--url http://127\.0\.0\.1:\d+$",
            r"notifying the approver",
            r"reimbursing 250\.00 to emp-001",
            r"^approved by manager@example\.com$",
            r'^result: \{"expense_id": "EXP-2024-17", "status": "approved", '
            r'"by": "manager@example\.com"\}$',
        ),
        anywhere=(r"^Accepted by http://127\.0\.0\.1:\d+/",),
    ),
    "event_handler": Example(
        args=("--demo", "--port", "{port}"),
        expect=(
            *(
                rf"^POST {kind}: 202 \{{'status': 'accepted', 'delivered': 0, 'started': 1\}}$"
                for kind in ("user.signup", "user.signup", "order.created")
            ),
        ),
        anywhere=(
            r"^user\.signup \S+: welcomed Alice \(profile-u-1\)$",
            r"^user\.signup \S+: welcomed Bob \(profile-u-2\)$",
            r"^order\.created \S+: order ORD-1 confirmed$",
        ),
    ),
    "llm": Example(
        expect=(
            r"^no OPENAI_API_KEY: using the stand-in model at http://127\.0\.0\.1:\d+/v1$",
            r"^  tool weather\('Lisbon'\) runs",
            r"^advice: Yes, go: the forecast says .*sunny",
            r"^plan:   Plan\(city='Lisbon', days=2, packing=\['hat', 'sunscreen'\]\)$",
            r"^history: trip_planner:1, llm_tool:weather:1, trip_planner:2, llm_call_parse:1$",
            r"^model requests sent: 3; after replaying the history: 3$",
        ),
        env={"OPENAI_API_KEY": ""},
    ),
    "mcp": Example(
        args=("--demo",),
        expect=(
            r"^tools: process_order_start, process_order_status, process_order_result, "
            r"process_order_cancel, await_approval_start, await_approval_status, "
            r"await_approval_result, await_approval_cancel$",
            r'^process_order_start -> \{"instance_id": "\S+", "workflow_name": "process_order"\}$',
            r'^process_order_result -> .*"finished": false',
            r'^process_order_result -> .*"status": "completed", "finished": true, "output": '
            r'\{"order_id": "ORD-7", "reservation": "RES-ORD-7", "charged": 19\.0\}\}$',
            r'^await_approval_cancel -> .*"status": "cancelled", "success": true\}$',
            r"^process_order_start -> arguments: 'item' is a required property$",
            r"^romancy://instances -> 2 instances:$",
            r"^  await_approval: cancelled$",
            r"^  process_order: completed$",
        ),
    ),
}


def _example_files() -> set[str]:
    return {path.stem for path in EXAMPLES_DIR.glob("*.py") if not path.name.startswith("_")}


def test_every_example_is_in_the_table() -> None:
    files = _example_files()
    assert files - EXAMPLES.keys() == set(), "examples without an entry in EXAMPLES"
    assert EXAMPLES.keys() - files == set(), "entries in EXAMPLES without a file"


def test_every_go_example_has_a_python_counterpart() -> None:
    assert GO_EXAMPLES - _example_files() == set()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_runs(name: str, make_database: Callable[[], str], tmp_path: Path) -> None:
    example = EXAMPLES[name]
    port = str(free_port())
    args = [arg.replace("{port}", port) for arg in example.args]
    command = [sys.executable, str(EXAMPLES_DIR / f"{name}.py"), "--db", make_database(), *args]
    # Unbuffered, so a run killed by the timeout still shows how far it got.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **example.env}
    try:
        run = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=example.timeout
        )
    except subprocess.TimeoutExpired as hung:
        output = hung.stdout.decode() if isinstance(hung.stdout, bytes) else hung.stdout
        pytest.fail(f"{name} still ran after {example.timeout} s; output:\n{output}")
    shown = f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert run.returncode == 0, shown
    assert "Traceback" not in run.stderr, shown
    position = 0
    for pattern in example.expect:
        found = re.compile(pattern, re.MULTILINE).search(run.stdout, position)
        assert found, f"{pattern!r} not found (in this order) in {shown}"
        position = found.end()
    for pattern in example.anywhere:
        assert re.search(pattern, run.stdout, re.MULTILINE), f"{pattern!r} not in {shown}"
    for pattern in example.forbid:
        assert not re.search(pattern, run.stdout, re.MULTILINE), f"{pattern!r} in {shown}"
    if example.check is not None:
        example.check(run.stdout)
