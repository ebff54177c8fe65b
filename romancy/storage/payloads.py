"""Payload sizes a server accepts, checked before anything is written.

MySQL/MariaDB refuse a statement larger than ``max_allowed_packet`` (read when the
storage opens) and drop the connection, which would look like an outage. A payload that
cannot fit is refused up front with an error naming it and the limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from romancy.errors import InvalidValueError

if TYPE_CHECKING:
    from romancy.storage.facade import Storage

#: Bytes of a statement left for its SQL text and its other (small) parameters.
STATEMENT_RESERVE = 64 * 1024


def check_payload(storage: Storage, value: str | bytes, what: str) -> None:
    """Raise :class:`InvalidValueError` when ``value`` cannot travel in one statement."""
    limit = storage.packet_limit
    if limit is None:
        return
    size = storage.dialect.statement_bytes(value)
    if size + STATEMENT_RESERVE > limit:
        raise InvalidValueError(
            f"{what} takes {size} bytes in a statement; this server accepts statements of "
            f"up to {limit} bytes (max_allowed_packet), {STATEMENT_RESERVE} of them kept "
            "for the rest of the statement"
        )
