"""``romancy[mcp]`` is optional: the package and its command line work without the SDK."""

from __future__ import annotations

import subprocess
import sys

from .support import MODULE, REPO


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )


def test_importing_romancy_and_its_cli_does_not_import_the_sdk() -> None:
    done = run_python(
        "import sys, romancy, romancy.cli\n"
        "romancy.cli.build_parser()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'mcp_types'))\n"
        "assert not loaded, loaded\n"
        "assert 'romancy.mcp' not in sys.modules"
    )
    assert done.returncode == 0, done.stderr


def test_without_the_sdk_the_command_says_what_to_install() -> None:
    done = run_python(
        "import sys\n"
        "sys.modules['mcp'] = None  # as if romancy[mcp] were not installed\n"
        "from romancy.cli import main\n"
        f"raise SystemExit(main(['mcp', '--module', {MODULE!r}]))"
    )
    assert done.returncode == 1, done.stderr
    assert "pip install 'romancy[mcp]'" in done.stderr
    assert "Traceback" not in done.stderr
