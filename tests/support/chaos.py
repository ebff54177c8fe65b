"""Sizes and figures of the chaos suite (``tests/chaos/``).

``ROMANCY_CHAOS_PROFILE`` picks the sizes: ``short`` (the default, part of every test run)
or ``long`` (``scripts/chaos.sh``). Each chaos test calls :func:`record` with what it
measured; the figures land in ``reports/chaos-<backend>.json`` (one object per test, the
last run wins), and ``python -m tests.support.chaos`` prints them as a table.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPORTS = Path(__file__).resolve().parents[2] / "reports"
PROFILE_VAR = "ROMANCY_CHAOS_PROFILE"


@dataclass(frozen=True)
class Profile:
    """How hard each chaos test pushes; durations are seconds."""

    name: str
    #: test_sigkill: worker processes, workflows x steps, SIGKILLs spread over a window.
    kill_workers: int
    kill_workflows: int
    kill_steps: int
    kill_step_pause: float
    kills: int
    kill_window: float
    #: test_db_restart: workflows x steps running while the server is down this long.
    outage_workflows: int
    outage_steps: int
    outage_seconds: float
    #: test_long_activity: how long the one activity runs (leases last 2.4 s).
    long_activity_seconds: float
    #: test_lease_race: workflows started on one worker while leases renew every ~0.1 s.
    race_starts: int
    #: Property-based tests: hypothesis examples per property.
    fuzz_examples: int
    #: HTTP fuzzing: requests sent per test.
    http_requests: int


PROFILES = {
    "short": Profile(
        name="short",
        kill_workers=3,
        kill_workflows=30,
        kill_steps=10,
        kill_step_pause=0.5,
        kills=3,
        kill_window=4.0,
        outage_workflows=6,
        outage_steps=6,
        outage_seconds=2.0,
        long_activity_seconds=6.0,
        race_starts=120,
        fuzz_examples=60,
        http_requests=300,
    ),
    "long": Profile(
        name="long",
        kill_workers=4,
        kill_workflows=200,
        kill_steps=10,
        kill_step_pause=1.0,
        kills=32,
        kill_window=60.0,
        outage_workflows=40,
        outage_steps=10,
        outage_seconds=6.0,
        long_activity_seconds=30.0,
        race_starts=600,
        fuzz_examples=2000,
        http_requests=10000,
    ),
}


def profile() -> Profile:
    """The sizes selected by ``ROMANCY_CHAOS_PROFILE`` (``short`` unless set)."""
    name = os.environ.get(PROFILE_VAR, "short").strip() or "short"
    if name not in PROFILES:
        raise ValueError(f"{PROFILE_VAR}={name!r}: expected one of {sorted(PROFILES)}")
    return PROFILES[name]


def record(test: str, backend: str, **figures: Any) -> None:
    """Store ``figures`` (JSON values) measured by ``test`` on ``backend``.

    Safe from several xdist workers at once: each update holds a lock on the file.
    """
    REPORTS.mkdir(exist_ok=True)
    path = REPORTS / f"chaos-{backend}.json"
    entry = {
        "profile": profile().name,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **figures,
    }
    with (REPORTS / ".chaos.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        report = json.loads(path.read_text()) if path.exists() else {}
        report[test] = entry
        path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")


def summary() -> str:
    """Every recorded figure, one line per test and backend."""
    lines = []
    for path in sorted(REPORTS.glob("chaos-*.json")):
        backend = path.stem.removeprefix("chaos-")
        for test, entry in sorted(json.loads(path.read_text()).items()):
            figures = ", ".join(
                f"{k}={v}" for k, v in entry.items() if k not in ("profile", "recorded_at")
            )
            lines.append(f"{backend:<10} {test:<24} [{entry['profile']}] {figures}")
    return "\n".join(lines) or f"no chaos figures under {REPORTS}"


if __name__ == "__main__":
    print(summary())
