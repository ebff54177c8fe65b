"""The crosstest contract both Python programs share (``crosstest/program.py``).

Our program and the Edda driver build their output from it, so what every receiver and
sender prints must match ``schema/json/crosstest-output.json``; and the Edda driver loads
it inside Edda's own virtual environment, where romancy is not installed.
"""

from __future__ import annotations

import subprocess
import sys

from crosstest import program
from crosstest.venvs import SUITE
from romancy.serialization import format_time, parse_time
from romancy.validation import validate


def test_every_result_a_program_prints_matches_the_output_schema() -> None:
    results = [
        program.received({"text": "hi"}, {"k": "v"}),
        program.received({"text": "b"}, {}, [{"text": "a"}, {"text": "b"}]),
        program.event_received({"n": 1}, "e1", "order.created", "/shop", {"tenant": "t"}),
        program.timed_out(),
        program.not_received("strict decode: message has no text"),
        program.send_result("published"),
        program.send_result("sent", "no such instance"),
    ]
    for result in results:
        assert validate("crosstest-output", result) == [], result
    assert program.timed_out() == {"received": False, "error": "timeout"}
    assert program.send_result("sent", "gone") == {"sent": False, "error": "gone"}


def test_an_event_waiter_reports_the_events_attributes_as_its_metadata() -> None:
    result = program.event_received({"n": 1}, "e1", "order.created", "/shop", {"tenant": "t"})
    assert result == {
        "received": True,
        "message": {"n": 1},
        "metadata": {"id": "e1", "type": "order.created", "source": "/shop", "tenant": "t"},
    }


def test_a_sent_message_is_gos_test_message_with_romancys_time_format() -> None:
    message = program.sent_message("hello", {"k": 1})
    assert message["text"] == "hello" and message["data"] == {"k": 1}
    sent_at = parse_time(message["timestamp"])
    assert message["timestamp"] == format_time(sent_at)
    assert message["timestamp"].endswith("Z")


def test_the_contract_loads_with_the_standard_library_alone() -> None:
    # -S -I: no site-packages and no working directory on the path, so neither romancy
    # nor its dependencies can be imported, as in Edda's virtual environment.
    path = SUITE / "crosstest" / "program.py"
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('crosstest_program', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules[spec.name] = module\n"
        "spec.loader.exec_module(module)\n"
        "print(module.timed_out())\n"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-I", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'received': False, 'error': 'timeout'}"
