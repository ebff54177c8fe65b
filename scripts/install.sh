#!/usr/bin/env bash
# What every test command needs first (scripts/test.sh, scripts/chaos.sh):
#   * Python dependencies into .venv (the project with its dev extras);
#   * Edda 0.16.2 into its own venv .venvs/edda (it pins other library versions);
#   * actionlint (scripts/test.sh lints .github/workflows with it), a Go module built into
#     .venv/bin by the Go toolchain.
# Database servers are the test harness's business (tests/support/servers.py).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "romancy needs Python >= 3.11 ($PYTHON is older)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then "$PYTHON" -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
.venv/bin/python -c 'from tests.support.peers import ensure_edda; print("edda venv:", ensure_edda())'

ACTIONLINT_VERSION=1.7.12
if ! .venv/bin/actionlint -version 2>/dev/null | grep -qx "v$ACTIONLINT_VERSION"; then
    GO=$(command -v go || echo /usr/local/go/bin/go)  # the Go toolchain's usual home
    [ -x "$GO" ] \
        || { echo "actionlint is built with Go: put a Go toolchain (go) on PATH" >&2; exit 1; }
    GOBIN="$PWD/.venv/bin" "$GO" install "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"
fi
