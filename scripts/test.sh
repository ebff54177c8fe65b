#!/usr/bin/env bash
# The project's test command (README, .ci/run). On a fresh machine it installs what the
# tests need and runs lint, type checks and the whole suite on SQLite, PostgreSQL and
# MariaDB:
#   * Python dependencies into .venv (the project with its dev extras);
#   * Edda 0.16.2 into its own venv .venvs/edda (it pins other library versions);
#   * PostgreSQL and MariaDB: from ROMANCY_TEST_*_URL, else testcontainers when a Docker
#     engine answers, else OS packages started on 127.0.0.1 by scripts/db-servers.sh
#     (the test harness decides, and the pytest header says which it used).
# Extra arguments go to pytest, e.g. scripts/test.sh -k locks
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "romancy needs Python >= 3.11 ($PYTHON is older)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then "$PYTHON" -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
.venv/bin/python -c 'from tests.support.peers import ensure_edda; print("edda venv:", ensure_edda())'

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

# Two workers: the machine has two cores.
.venv/bin/python -m pytest -n 2 "$@"
