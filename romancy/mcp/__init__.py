"""Serve an App's workflows to MCP clients (Model Context Protocol; ``romancy[mcp]``).

``Server(app)`` with ``register_workflow(wf)`` gives every workflow four tools —
``<name>_start``, ``<name>_status``, ``<name>_result``, ``<name>_cancel`` — and the
instances as resources; serve it over stdio or streamable HTTP (docs/mcp.md).
"""

try:
    import mcp as _sdk  # noqa: F401 - fail here, with the extra to install, when absent
except ImportError:  # pragma: no cover - exercised only without the extra
    from romancy.errors import ConfigurationError

    raise ConfigurationError(
        "romancy.mcp needs the MCP SDK, which is not installed: pip install 'romancy[mcp]'"
    ) from None

from romancy.mcp._discovery import Found, discover
from romancy.mcp._server import DEFAULT_NAME, DEFAULT_VERSION, Server

__all__ = ["DEFAULT_NAME", "DEFAULT_VERSION", "Found", "Server", "discover"]
