"""App.lifespan in a host application (real uvicorn and HTTP on 127.0.0.1), and
App.serve without uvicorn installed."""

from __future__ import annotations

import subprocess
import sys

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

import romancy
from romancy.storage import Storage
from tests.support.http import serving


async def test_a_mounted_app_starts_and_stops_with_the_host_lifespan(storage: Storage) -> None:
    app = romancy.App(storage.url.original)

    async def home(request: object) -> JSONResponse:
        return JSONResponse({"romancy_running": app.is_running})

    host = Starlette(
        routes=[Route("/", home), Mount("/romancy", app=app.asgi())], lifespan=app.lifespan
    )
    assert not app.is_running
    async with serving(host, lifespan=True) as url, httpx.AsyncClient(base_url=url) as client:
        assert app.is_running
        ready = await client.get("/romancy/health/ready")
        assert (ready.status_code, ready.json()) == (200, {"status": "ok"})
        assert (await client.get("/")).json() == {"romancy_running": True}
    assert not app.is_running  # the host's shutdown shut the App down


async def test_an_app_started_beforehand_is_left_running(storage: Storage) -> None:
    async with romancy.App(storage.url.original) as app:
        async with app.lifespan():
            assert app.is_running
        assert app.is_running


def test_serve_without_uvicorn_says_how_to_install_it() -> None:
    program = (
        "import asyncio, sys\n"
        "sys.modules['uvicorn'] = None  # as if it were not installed\n"
        "import romancy\n"
        "asyncio.run(romancy.App('sqlite:///:memory:').serve())\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last == (
        "romancy.errors.ConfigurationError: App.serve() needs uvicorn, which is not "
        "installed: pip install 'romancy[http]'"
    )
