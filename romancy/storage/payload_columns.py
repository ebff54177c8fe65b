"""A payload as the three columns every payload column pair is written with.

``workflow_history``, ``channel_messages`` and ``outbox_events`` keep JSON text in one
column and raw bytes in its ``*_binary`` twin, with ``data_type`` saying which.
"""

from __future__ import annotations

from romancy.wire.status import DataType


def payload_columns(data: str | bytes) -> tuple[DataType, str | None, bytes | None]:
    """``(data_type, text, binary)`` for a payload: ``str`` is JSON text, ``bytes`` raw."""
    if isinstance(data, bytes):
        return DataType.BINARY, None, data
    return DataType.JSON, data, None
