"""The built wheel carries its migrations and works without the source tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_wheel_migrates_a_database_on_its_own(tmp_path: Path) -> None:
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("romancy-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for dialect in ("sqlite", "postgresql", "mysql"):
        assert f"romancy/_migrations/{dialect}/20251217000000_initial_schema.sql" in names
    assert "romancy/cli/__init__.py" in names

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import romancy, romancy.storage.migrations as m; "
            "print(romancy.__file__); print(m.bundled_migrations_dir())",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    module_file, migrations_dir = probe.stdout.split()
    assert module_file.startswith(str(site)) and migrations_dir.startswith(str(site))

    run = subprocess.run(
        [sys.executable, "-m", "romancy", "migrate", "up", "--json", "--db", "sqlite:///app.db"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["applied"] == ["20251217000000"]
    assert (elsewhere / "app.db").exists()
