"""Property: any valid CloudEvent survives HTTP binary and structured mode unchanged."""

from __future__ import annotations

import dataclasses
from datetime import UTC
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from romancy.cloudevent import RESERVED_NAMES, CloudEvent, check_event
from romancy.cloudevent_http import from_http, to_binary, to_structured
from romancy.errors import InvalidValueError
from tests.support.chaos import profile

# Any character a text column takes: no NUL, no lone surrogate.
_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_TEXT = st.text(_CHARS, min_size=1, max_size=40)
_NAME = st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True).filter(lambda n: n not in RESERVED_NAMES)
_EXTENSION = st.one_of(_TEXT, st.booleans(), st.integers(-(2**31), 2**31 - 1))
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# (data, datacontenttype) pairs a binary-mode body can carry without losing the kind.
_PAYLOAD = st.one_of(
    st.tuples(st.none(), st.none() | st.sampled_from(["application/json", "text/plain"])),
    st.tuples(_JSON, st.sampled_from(["application/json", "application/vnd.x+json"])),
    st.tuples(st.text(min_size=1, max_size=40), st.just("text/plain")),
    st.tuples(st.binary(min_size=1, max_size=40), st.just("application/octet-stream")),
)


@st.composite
def events(draw: st.DrawFn) -> CloudEvent:
    data, content_type = draw(_PAYLOAD)
    return check_event(
        CloudEvent(
            id=draw(_TEXT),
            type=draw(_TEXT),
            source=draw(_TEXT),
            time=draw(st.none() | st.datetimes(timezones=st.just(UTC))),
            datacontenttype=content_type,
            dataschema=draw(st.none() | _TEXT),
            subject=draw(st.none() | _TEXT),
            data=data,
            extensions=draw(st.dictionaries(_NAME, _EXTENSION, max_size=4)),
        )
    )


def _as_headers(value: Any) -> str:
    """How binary mode carries an extension value: every header is a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_SETTINGS = settings(max_examples=profile().fuzz_examples * 2, deadline=None, database=None)


@_SETTINGS
@given(events())
def test_structured_mode_round_trips(event: CloudEvent) -> None:
    assert from_http(*to_structured(event)) == event


@_SETTINGS
@given(events())
def test_binary_mode_round_trips(event: CloudEvent) -> None:
    # Binary mode has no types for extensions: they come back as their string form.
    expected = dataclasses.replace(
        event, extensions={k: _as_headers(v) for k, v in event.extensions.items()}
    )
    assert from_http(*to_binary(event)) == expected


@pytest.mark.parametrize("name", ["Upper", "with-dash", "data", "id", "a" * 65, "", "é"], ids=repr)
def test_invalid_extension_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidValueError, match=r"name|core attribute"):
        check_event(CloudEvent(id="i", type="t", source="s", extensions={name: "v"}))


@pytest.mark.parametrize(
    "event",
    [
        CloudEvent(id="i\ud800", type="t", source="s"),
        CloudEvent(id="i", type="t", source="s", subject="\udfff"),
        CloudEvent(id="i", type="t", source="s", extensions={"ext": "é\ud83d"}),
    ],
    ids=["id", "subject", "extension"],
)
def test_lone_surrogates_are_refused(event: CloudEvent) -> None:
    # Valid UTF-8 is what every backend and the HTTP modes can carry.
    with pytest.raises(InvalidValueError, match=r"attribute '\w+' is not valid Unicode"):
        check_event(event)


def test_non_ascii_attributes_are_kept() -> None:
    event = CloudEvent(id="é😀", type="日本", source="s", extensions={"ext": "\U0010ffff"})
    assert check_event(event) == event
