"""CloudEvents over HTTP: both content modes of the HTTP protocol binding, both ways.

* Binary mode: attributes in ``ce-<name>`` headers (values percent-encoded UTF-8), the
  data as the body, ``datacontenttype`` as the ``content-type`` header.
* Structured mode: one JSON object (``application/cloudevents+json``) holding the
  attributes, extensions as top-level members, and ``data`` or ``data_base64``.

:func:`from_http` accepts only events that :func:`romancy.cloudevent.check_event`
accepts; it raises :class:`~romancy.errors.MalformedJSONError` for a body that is not
strict JSON and :class:`~romancy.errors.InvalidValueError` for any other bad input.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from romancy.cloudevent import (
    CORE_ATTRIBUTES,
    JSON_CONTENT_TYPE,
    CloudEvent,
    check_event,
    check_extension_name,
    parse_rfc3339,
)
from romancy.errors import InvalidValueError
from romancy.jsontext import MAX_JSON_DEPTH, parse_json
from romancy.serialization import dumps, format_time

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
#: Printable ASCII but space, '"' and '%' goes into a header as it is (the binding's rule).
_HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')


def media_type(content_type: str | None) -> str:
    """The media type of a ``content-type`` value, lowercase, without parameters."""
    return (content_type or "").split(";")[0].strip().lower()


def is_json(content_type: str | None) -> bool:
    """Whether data of this content type is JSON (``application/json``, ``*/*+json``)."""
    kind = media_type(content_type)
    return kind in (JSON_CONTENT_TYPE, "text/json") or kind.endswith("+json")


def from_http(
    headers: Mapping[str, str], body: bytes, *, max_depth: int = MAX_JSON_DEPTH
) -> CloudEvent:
    """The event an HTTP request carries, in binary or structured mode.

    ``headers`` maps lowercase names to values decoded as Latin-1 (as ASGI servers
    hand them over). A ``ce-specversion`` header selects binary mode; otherwise the body
    must be a structured event (content type ``application/cloudevents+json``,
    ``application/json`` or none).
    """
    if "ce-specversion" in headers:
        return _binary(headers, body, max_depth)
    kind = media_type(headers.get("content-type"))
    if kind not in (STRUCTURED, JSON_CONTENT_TYPE, ""):
        raise InvalidValueError(
            f"not a CloudEvent: no ce-specversion header and content type {kind[:60]!r}"
        )
    envelope = parse_json(body, what="the structured CloudEvent", max_depth=max_depth)
    if not isinstance(envelope, dict):
        raise InvalidValueError("a structured CloudEvent must be a JSON object")
    return _structured(envelope)


def to_binary(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    """``(headers, body)`` of ``event`` in binary mode."""
    headers = {f"ce-{name}": _header_value(value) for name, value in _attributes(event).items()}
    body, content_type = _body(event.data, event.datacontenttype)
    if content_type is not None:
        headers["content-type"] = content_type
    return headers, body


def to_structured(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    """``(headers, body)`` of ``event`` in structured mode."""
    envelope: dict[str, Any] = dict(_attributes(event))
    if event.datacontenttype is not None:
        envelope["datacontenttype"] = event.datacontenttype
    if isinstance(event.data, bytes):
        envelope["data_base64"] = base64.b64encode(event.data).decode("ascii")
    elif event.data is not None:
        envelope["data"] = event.data
    return {"content-type": STRUCTURED}, dumps(envelope, what="CloudEvent").encode("ascii")


# ------------------------------------------------------------------------ reading


def _binary(headers: Mapping[str, str], body: bytes, max_depth: int) -> CloudEvent:
    attributes: dict[str, Any] = {}
    for key, value in headers.items():
        if not key.startswith("ce-"):
            continue
        name = key[3:]
        if name == "datacontenttype":
            raise InvalidValueError(
                "in binary mode datacontenttype is the content-type header, not ce-datacontenttype"
            )
        if name not in CORE_ATTRIBUTES:
            check_extension_name(name)
        attributes[name] = _header_text(key, value)
    content_type = headers.get("content-type", "").strip() or None
    data: Any = None
    if body:
        if is_json(content_type):
            data = parse_json(body, what="the event data", max_depth=max_depth)
        elif media_type(content_type).startswith("text/"):
            data = body.decode("utf-8", errors="replace")
        else:
            data = body
    return _event(attributes, data, content_type)


def _structured(envelope: dict[str, Any]) -> CloudEvent:
    # A JSON null stands for an absent attribute (the JSON format's rule); data_base64
    # is no attribute, and null is no base64 string.
    attributes = {k: v for k, v in envelope.items() if v is not None}
    data = attributes.pop("data", None)
    attributes.pop("data_base64", None)
    if "data_base64" in envelope:
        encoded = envelope["data_base64"]
        if "data" in envelope:
            raise InvalidValueError("a CloudEvent holds either data or data_base64, not both")
        if not isinstance(encoded, str):
            raise InvalidValueError(
                f"data_base64 must be a base64 string, not {type(encoded).__name__}"
            )
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidValueError("data_base64 is not valid base64") from None
    for name in attributes:
        if name not in CORE_ATTRIBUTES:
            check_extension_name(name)
    return _event(attributes, data, attributes.get("datacontenttype"))


def _event(attributes: dict[str, Any], data: Any, content_type: Any) -> CloudEvent:
    missing = [n for n in ("specversion", "id", "source", "type") if n not in attributes]
    if missing:
        raise InvalidValueError(f"missing required attribute(s): {', '.join(missing)}")
    moment = parse_rfc3339(attributes["time"]) if "time" in attributes else None
    return check_event(
        CloudEvent(
            id=attributes["id"],
            type=attributes["type"],
            source=attributes["source"],
            specversion=attributes["specversion"],
            time=moment,
            datacontenttype=content_type,
            dataschema=attributes.get("dataschema"),
            subject=attributes.get("subject"),
            data=data,
            extensions={k: v for k, v in attributes.items() if k not in CORE_ATTRIBUTES},
        )
    )


def _header_text(header: str, value: str) -> str:
    """A ``ce-*`` header value: percent-decoded, then UTF-8 (the binding's encoding)."""
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raw = value.encode("utf-8", errors="surrogatepass")
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidValueError(f"header {header!r} is not UTF-8 once percent-decoded") from None


# ------------------------------------------------------------------------ writing


def _attributes(event: CloudEvent) -> dict[str, Any]:
    """The context attributes but ``datacontenttype``, extensions included."""
    attributes: dict[str, Any] = {
        "specversion": event.specversion,
        "id": event.id,
        "source": event.source,
        "type": event.type,
    }
    if event.time is not None:
        attributes["time"] = format_time(event.time)
    for name in ("subject", "dataschema"):
        if getattr(event, name) is not None:
            attributes[name] = getattr(event, name)
    attributes.update(event.extensions)
    return attributes


def _header_value(value: Any) -> str:
    """An attribute value as a ``ce-*`` header: percent-encoded UTF-8, as the binding says."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return quote(str(value), safe=_HEADER_SAFE)


def _body(data: Any, content_type: str | None) -> tuple[bytes, str | None]:
    if data is None:
        return b"", content_type
    if isinstance(data, bytes):
        return data, content_type
    if isinstance(data, str) and content_type is not None and not is_json(content_type):
        return data.encode("utf-8"), content_type
    return dumps(data, what="event data").encode("ascii"), content_type or JSON_CONTENT_TYPE
