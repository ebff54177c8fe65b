#!/usr/bin/env bash
# The project's test command (README, .ci/run). On a fresh machine it installs what the
# tests need and runs lint (the workflows, then Python), type checks and the whole suite
# on SQLite, PostgreSQL and MariaDB:
#   * Python dependencies and Edda's venv (scripts/install.sh);
#   * PostgreSQL and MariaDB: from ROMANCY_TEST_*_URL, else testcontainers when a Docker
#     engine answers, else OS packages started on 127.0.0.1 by scripts/db-servers.sh
#     (the test harness decides, and the pytest header says which it used).
# Extra arguments go to pytest, e.g. scripts/test.sh -k locks
# The chaos suite (tests/chaos/) runs here in its short profile; scripts/chaos.sh runs
# its long profile.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install.sh

.venv/bin/actionlint .github/workflows/*.yml
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

# Two workers: the machine has two cores.
.venv/bin/python -m pytest -n 2 "$@"
