#!/usr/bin/env bash
# The chaos suite in its long profile, on SQLite, PostgreSQL and MariaDB (see
# docs/reliability.md): worker SIGKILLs, server restarts, long activities, lease races,
# lock holders and fuzzing. Takes tens of minutes. Ends with a summary of the figures the
# tests recorded in reports/chaos-<backend>.json.
# Extra arguments go to pytest, e.g. scripts/chaos.sh -k sigkill
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install.sh

export ROMANCY_CHAOS_PROFILE=long
unset ROMANCY_TEST_BACKENDS # every backend, always
rm -f reports/chaos-*.json

# One test at a time (no xdist): the figures (recovery times, loop stalls) then measure
# romancy, not the other chaos tests sharing the two cores.
status=0
.venv/bin/python -m pytest -p no:cacheprovider -m chaos tests/chaos "$@" || status=$?

echo
echo "Chaos figures (profile long):"
.venv/bin/python -m tests.support.chaos
exit "$status"
