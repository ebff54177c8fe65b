"""The built wheel carries its migrations and works without the source tree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from crosstest.runtimes import EDDA_NO_CLI
from romancy.validation import validate
from tests.support.fixtures import Backend
from tests.support.peers import ensure_edda

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
    # Every import name the wheel installs is romancy's: the suite's folders are mapped.
    tops = {n.split("/")[0] for n in names if not n.startswith("romancy-")}
    assert tops == {"romancy"}, tops
    assert "romancy/conformance/known_divergences.toml" in names
    assert "romancy/conformance/channel_broadcast/SPEC.md" in names
    assert "romancy/crosstest/suite.py" in names
    assert not [n for n in names if "/test_" in n], "the repository's own tests were shipped"

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


# ------------------------------------------------ a fresh virtualenv, as a user installs


@dataclass(frozen=True)
class FreshInstall:
    python: Path
    romancy: Path
    home: Path  # an empty working directory outside the repository


def _run(*args: str | Path, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    # Without the repository's own environment: only what the install brought.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> FreshInstall:
    """``python -m venv`` + ``pip install <repo>``: no extras, nothing from the dev setup."""
    root = tmp_path_factory.mktemp("fresh")
    created = _run(sys.executable, "-m", "venv", root / "venv", cwd=root)
    assert created.returncode == 0, created.stderr
    python = root / "venv" / "bin" / "python"
    installed = _run(python, "-m", "pip", "install", "-q", REPO, cwd=root, timeout=900)
    assert installed.returncode == 0, installed.stderr
    home = root / "home"
    home.mkdir()
    return FreshInstall(python, root / "venv" / "bin" / "romancy", home)


def test_fresh_install_is_sqlite_only_and_runs_the_quickstart(fresh: FreshInstall) -> None:
    version = _run(fresh.romancy, "--version", cwd=fresh.home)
    assert (version.returncode, version.stdout.strip()) == (0, "romancy 0.1.0"), version.stderr

    listed = _run(fresh.python, "-m", "pip", "list", "--format=json", cwd=fresh.home)
    packages = {p["name"].lower(): p["version"] for p in json.loads(listed.stdout)}
    extras = ("psycopg", "aiomysql", "pymysql", "uvicorn", "aiosqlite")
    optional = ("opentelemetry-api", "opentelemetry-sdk", "pydantic-ai-slim", "openai", "mcp")
    for extra in (*extras, *optional):
        assert extra not in packages, f"{extra} came with a plain install"
    major, minor = packages["sqlalchemy"].split(".")[:2]
    assert (int(major), int(minor)) == (2, 1)  # the range pyproject declares

    script = fresh.home / "quickstart.py"
    shutil.copy(REPO / "examples" / "quickstart.py", script)
    quickstart = _run(fresh.python, script, cwd=fresh.home, timeout=120)
    assert quickstart.returncode == 0, quickstart.stderr
    assert (fresh.home / "quickstart.db").is_file()
    status = _run(fresh.romancy, "list", "--db", "quickstart.db", "--json", cwd=fresh.home)
    assert status.returncode == 0, status.stderr
    assert [i["status"] for i in json.loads(status.stdout)["instances"]] == ["completed"]


@pytest.mark.backends("postgresql", reason="installs the postgresql extra, then uses it")
def test_postgresql_needs_its_extra_then_works(
    fresh: FreshInstall, make_database: Callable[[], str]
) -> None:
    url = make_database()
    missing = _run(fresh.romancy, "migrate", "up", "--db", url, cwd=fresh.home)
    assert missing.returncode == 1, missing.stdout
    assert "PostgreSQL needs the psycopg driver" in missing.stderr
    assert "pip install 'romancy[postgresql]'" in missing.stderr
    assert "Traceback" not in missing.stderr

    extra = _run(
        fresh.python, "-m", "pip", "install", "-q", f"{REPO}[postgresql]", cwd=REPO, timeout=900
    )
    assert extra.returncode == 0, extra.stderr
    migrated = _run(fresh.romancy, "migrate", "up", "--json", "--db", url, cwd=fresh.home)
    assert migrated.returncode == 0, migrated.stderr
    assert json.loads(migrated.stdout)["applied"] == ["20251217000000"]


@pytest.mark.slow
@pytest.mark.backends(
    "sqlite",
    reason="the installed command's run on SQLite; conformance/test_crosstest_matrix.py runs "
    "the same matrix on PostgreSQL and MariaDB",
)
def test_installed_suite_runs_every_case_and_writes_three_reports(
    fresh: FreshInstall, backend: Backend
) -> None:
    """What a user runs in their CI: only `pip install romancy`, plus Edda in its own venv."""
    edda_python = ensure_edda()
    listing = _run(fresh.romancy, "conformance", "list", "--json", cwd=fresh.home)
    assert listing.returncode == 0, listing.stderr
    cases = [case["name"] for case in json.loads(listing.stdout)["cases"]]
    assert {"channel_broadcast", "channel_competing", "event_targeted"} <= set(cases)
    reports = fresh.home / "reports"
    run = _run(
        fresh.romancy,
        "conformance",
        "run",
        "--db",
        f"sqlite:///{fresh.home / 'x.db'}",
        "--runtime",
        "romancy-py",
        "--runtime",
        f"edda={edda_python}",
        "--strict",
        "--junit",
        reports / "matrix.xml",
        "--json",
        reports / "matrix.json",
        "--markdown",
        reports / "matrix.md",
        cwd=fresh.home,
        timeout=1200,
    )
    assert run.returncode == 0, run.stdout + run.stderr

    document = json.loads((reports / "matrix.json").read_text())
    assert validate("crosstest-matrix", document) == []
    pairs = {"romancy-py->romancy-py", "romancy-py->edda", "edda->romancy-py", "edda->edda"}
    seen = {(c["case"], f"{c['sender']}->{c['receiver']}") for c in document["cells"]}
    assert seen == {(case, pair) for case in cases for pair in pairs}
    # A plain install has no HTTP server: romancy-py's serving cells say how to get one.
    # Edda has no instance CLI for the cells that read through one.
    serving = "romancy-py serves HTTP with uvicorn: pip install 'romancy[http]'"
    not_run = [c for c in document["cells"] if c["status"] == "not run"]
    assert {c["detail"] for c in not_run} == {serving, EDDA_NO_CLI}, not_run
    assert {c["case"] for c in not_run if c["detail"] == serving} >= {"event_targeted"}
    assert {c["status"] for c in document["cells"]} <= {"pass", "known divergence", "not run"}
    assert all(d["clean"] for d in document["databases"]), document["databases"]

    suites = ET.parse(reports / "matrix.xml").getroot()
    (suite,) = suites.findall("testsuite")
    assert int(suite.get("tests", "0")) == len(document["cells"]) + len(document["databases"])
    assert suite.get("failures") == "0"
    markdown = (reports / "matrix.md").read_text()
    assert markdown.startswith("# Conformance matrix") and "| `edda->edda` |" in markdown


def test_the_optional_extras_install_and_import(fresh: FreshInstall) -> None:
    # Last in this file: it adds the extras to the module's fresh install.
    extras = _run(
        fresh.python, "-m", "pip", "install", "-q", f"{REPO}[otel,llm,mcp]", cwd=REPO, timeout=900
    )
    assert extras.returncode == 0, extras.stderr
    probe = _run(
        fresh.python,
        "-c",
        "import romancy.otel, romancy.llm, romancy.mcp; "
        "print(romancy.otel.OTelHooks.__name__, romancy.llm.DurableAgent.__name__, "
        "romancy.mcp.Server.__name__)",
        cwd=fresh.home,
    )
    assert (probe.returncode, probe.stdout.split()) == (0, ["OTelHooks", "DurableAgent", "Server"])
    served = _run(fresh.romancy, "mcp", "--help", cwd=fresh.home)
    assert served.returncode == 0 and "--module" in served.stdout, served.stderr
