"""What a name, an id or a text value may hold so that every backend stores it alike.

The shared schema sets the bounds (see docs/storage.md, "Limits"): on MySQL/MariaDB
names and ids are ``VARCHAR(255)`` and a few columns are ``TEXT`` (64 KiB), and
PostgreSQL cannot store the NUL character in text. Values are checked here, at the API,
before anything is written, so one backend never truncates or rejects what another
accepted.
"""

from __future__ import annotations

import hashlib

from romancy.errors import InvalidValueError

#: Characters in a name or id column (``VARCHAR(255)`` on MySQL/MariaDB).
NAME_MAX_CHARS = 255
#: Bytes (UTF-8) in a ``TEXT`` column on MySQL/MariaDB (channel metadata, outbox errors).
TEXT_MAX_BYTES = 65_535


def check_name(value: object, what: str, *, max_chars: int = NAME_MAX_CHARS) -> str:
    """``value`` if it is a non-empty string without NUL of at most ``max_chars`` characters.

    ``what`` names the argument in the error, e.g. ``"channel name"``.
    """
    value = _string(value, what)
    if not value:
        raise InvalidValueError(f"{what} must not be empty")
    if len(value) > max_chars:
        raise InvalidValueError(f"{what} is {len(value)} characters long; the limit is {max_chars}")
    if "\x00" in value:
        raise InvalidValueError(f"{what} contains a NUL character, which databases cannot store")
    return value


def check_text(value: object, what: str, *, max_bytes: int | None = TEXT_MAX_BYTES) -> str:
    """``value`` if it is a string without NUL that (when ``max_bytes`` is set) fits in
    that many bytes; ``what`` names the argument in the error."""
    value = _string(value, what)
    if "\x00" in value:
        raise InvalidValueError(f"{what} contains a NUL character, which databases cannot store")
    if max_bytes is not None:
        size = len(value.encode("utf-8", errors="surrogatepass"))
        if size > max_bytes:
            raise InvalidValueError(f"{what} is {size} bytes; the limit is {max_bytes}")
    return value


def _string(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidValueError(f"{what} must be a string, not {type(value).__name__}")
    return value


def check_limit(value: object, what: str = "limit", *, maximum: int = 1000) -> int:
    """``value`` if it is an int from 1 to ``maximum`` (a page size or a batch size)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidValueError(f"{what} must be an integer from 1 to {maximum}, got {value!r}")
    return value


def fit_name(value: str, max_chars: int = NAME_MAX_CHARS) -> str:
    """``value``, or when it is longer than ``max_chars`` a prefix of it followed by a
    digest of the whole: a deterministic id that fits the column (activity ids built
    from long channel names)."""
    if len(value) <= max_chars:
        return value
    digest = hashlib.sha256(value.encode("utf-8", errors="surrogatepass")).hexdigest()[:32]
    return f"{value[: max_chars - len(digest) - 1]}~{digest}"
