"""The CloudEvent value and the rules every event must meet before it is stored.

One set of rules serves every way an event comes in or goes out: the HTTP endpoint,
``ingest_cloudevent`` from code, and ``send_event`` into the outbox. The limits make an
event storable alike on every backend (MySQL/MariaDB ``VARCHAR(255)`` and ``TEXT``
columns, PostgreSQL's ban on NUL and its 8000-byte NOTIFY payloads) and follow the
CloudEvents 1.0 specification: attribute names of lowercase ASCII letters and digits;
``id``, ``source`` and ``type`` required, non-empty strings; optional attributes
non-empty when present; extension values strings, booleans or 32-bit integers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from romancy.errors import InvalidValueError
from romancy.limits import NAME_MAX_CHARS, TEXT_MAX_BYTES, check_name
from romancy.wire.channels import direct_channel

SPECVERSION = "1.0"
#: The content type of JSON data, and the default of every event romancy builds.
JSON_CONTENT_TYPE = "application/json"
#: Extensions that target one instance (Go's and Edda's).
ROMANCY_TARGET = "romancyinstanceid"
EDDA_TARGET = "eddainstanceid"
#: Context attributes that are not extensions (CloudEvents 1.0).
CORE_ATTRIBUTES = (
    "id",
    "source",
    "type",
    "specversion",
    "time",
    "datacontenttype",
    "subject",
    "dataschema",
)

#: Most characters of each string attribute. ``id``, ``source`` and ``type`` are
#: ``VARCHAR(255)`` outbox columns (and ``type`` names a channel); ``datacontenttype``
#: is the outbox's ``VARCHAR(100)`` ``content_type``.
ATTRIBUTE_MAX_CHARS: dict[str, int] = {
    "id": NAME_MAX_CHARS,
    "source": NAME_MAX_CHARS,
    "type": NAME_MAX_CHARS,
    "datacontenttype": 100,
    "dataschema": 2048,
    "subject": 2048,
}
#: Most characters of a string extension value.
EXTENSION_MAX_CHARS = 4096
#: Most characters of an extension name (the specification recommends at most 20).
EXTENSION_NAME_MAX_CHARS = 64
#: All attributes together, as stored (channel ``metadata`` is a MySQL ``TEXT``).
ATTRIBUTES_MAX_BYTES = TEXT_MAX_BYTES
#: Attribute names that are never extensions (``data``/``data_base64`` hold the payload).
RESERVED_NAMES = frozenset(CORE_ATTRIBUTES) | {"data", "data_base64"}

_INT32 = (-(2**31), 2**31 - 1)
_NAME = re.compile(r"[a-z0-9]+")
#: A surrogate code point: in a Python str it always stands alone, and UTF-8 cannot encode it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


@dataclass(frozen=True)
class CloudEvent:
    """A CloudEvents 1.0 event (Go's ``CloudEvent``)."""

    id: str
    type: str
    source: str
    specversion: str = SPECVERSION
    time: datetime | None = None
    datacontenttype: str | None = None
    dataschema: str | None = None
    subject: str | None = None
    data: Any = None
    extensions: dict[str, Any] = field(default_factory=dict)


def check_event(event: CloudEvent) -> CloudEvent:
    """``event`` if every attribute meets the rules; else :class:`InvalidValueError`
    naming the attribute. Nothing is stored either way.

    The size of all attributes together is checked where the stored layout is built
    (:func:`romancy.wire.messages.cloudevent_message`), which every ingestion goes through.
    """
    if event.specversion != SPECVERSION:
        # At most 40 characters of the repr: the value may come from a request.
        raise InvalidValueError(
            f"specversion must be the string {SPECVERSION!r}, not {event.specversion!r:.40}"
        )
    for name in ("id", "source", "type"):
        check_attribute(name, getattr(event, name))
    for name in ("datacontenttype", "dataschema", "subject"):
        if getattr(event, name) is not None:
            check_attribute(name, getattr(event, name))
    if event.time is not None and not isinstance(event.time, datetime):
        raise InvalidValueError(f"attribute 'time' must be a datetime, not {event.time!r}")
    if not isinstance(event.extensions, dict):
        raise InvalidValueError("extensions must be a dict of attribute name to value")
    for name, value in event.extensions.items():
        check_extension(name, value)
    for name in (ROMANCY_TARGET, EDDA_TARGET):
        if name in event.extensions:
            check_attribute(name, event.extensions[name], max_chars=NAME_MAX_CHARS)
    check_name(event_channel(event), "the channel name ('<type>' or '<type>:<romancyinstanceid>')")
    return event


def event_channel(event: CloudEvent) -> str:
    """The channel an event is published to: its type, or ``"<type>:<romancyinstanceid>"``
    when it targets one instance (as Go does)."""
    target = event.extensions.get(ROMANCY_TARGET)
    return direct_channel(event.type, target) if target else event.type


def check_attribute(name: str, value: object, *, max_chars: int | None = None) -> str:
    """``value`` if it is a valid string for attribute ``name`` (non-empty, no NUL, valid
    Unicode, within :data:`ATTRIBUTE_MAX_CHARS`)."""
    limit = max_chars or ATTRIBUTE_MAX_CHARS.get(name, EXTENSION_MAX_CHARS)
    text = check_name(value, f"attribute {name!r}", max_chars=limit)
    if _SURROGATE.search(text):
        raise InvalidValueError(
            f"attribute {name!r} is not valid Unicode (it holds a lone surrogate)"
        )
    return text


def check_extension_name(name: object) -> str:
    """``name`` if it may name an extension attribute."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidValueError(
            f"attribute name {str(name)[:40]!r} must be lowercase ASCII letters and digits"
        )
    if len(name) > EXTENSION_NAME_MAX_CHARS:
        raise InvalidValueError(
            f"attribute name {name[:20]!r}… is {len(name)} characters long; "
            f"the limit is {EXTENSION_NAME_MAX_CHARS}"
        )
    if name in RESERVED_NAMES:
        raise InvalidValueError(f"{name!r} is a core attribute, not an extension")
    return name


def check_extension(name: object, value: object) -> None:
    """Raise unless ``name`` and ``value`` make a valid extension attribute."""
    text = check_extension_name(name)
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not _INT32[0] <= value <= _INT32[1]:
            raise InvalidValueError(f"extension {text!r} is {value}, outside 32-bit integers")
        return
    if not isinstance(value, str):
        raise InvalidValueError(
            f"extension {text!r} must be a string, boolean or integer, not {type(value).__name__}"
        )
    check_attribute(text, value)


def parse_rfc3339(text: object) -> datetime:
    """The aware UTC datetime an RFC 3339 ``date-time`` string names.

    RFC 3339 needs a full date, a time and an offset; leap seconds (``:60``) and
    instants outside years 1-9999 in UTC are refused.
    """
    if not isinstance(text, str):
        raise InvalidValueError(f"attribute 'time' must be a string, not {type(text).__name__}")
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise InvalidValueError(f"attribute 'time' is not an RFC 3339 date-time: {text[:60]!r}")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        offset = timedelta(0)
        if not zulu and int(off_m) > 59:
            raise ValueError(f"offset minute {off_m}")
        if not zulu:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            offset = -offset if sign == "-" else offset
        micros = int((fraction or "0")[:6].ljust(6, "0"))
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            micros,
            tzinfo=timezone(offset),
        )
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise InvalidValueError(f"attribute 'time' {text!r} is out of range: {error}") from None
