"""Running an App's HTTP endpoint: under uvicorn (``App.serve``), or inside a host
application whose lifespan starts and stops the App (``App.lifespan``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import ModuleType

from romancy.errors import ConfigurationError
from romancy.http import RomancyASGI, Served


def load_uvicorn() -> ModuleType:
    """The uvicorn module, or a :class:`ConfigurationError` saying how to install it."""
    try:
        import uvicorn
    except ImportError:
        raise ConfigurationError(
            "App.serve() needs uvicorn, which is not installed: pip install 'romancy[http]'"
        ) from None
    return uvicorn


async def serve(app: Served, host: str, port: int) -> None:
    """Serve ``app``'s endpoint with uvicorn until cancelled, starting the App first if
    needed and shutting it down afterwards."""
    uvicorn = load_uvicorn()
    async with lifespan(app):
        config = uvicorn.Config(
            RomancyASGI(app), host=host, port=port, lifespan="off", log_level="warning"
        )
        await uvicorn.Server(config).serve()


@contextlib.asynccontextmanager
async def lifespan(app: Served, _host: object = None) -> AsyncIterator[None]:
    """Run ``app`` for the duration of the block: started on entry unless it runs
    already, and then shut down on exit (an App started beforehand is left running)."""
    owns = not app.is_running
    if owns:
        await app.start()
    try:
        yield
    finally:
        if owns:
            await app.shutdown()
