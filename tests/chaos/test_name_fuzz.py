"""Fuzzed channel, group and instance names: a clear error, or exact behaviour.

Names are drawn around the rules (unicode, case and accent variants, trailing spaces,
NUL, lengths around 255). A name is either refused with ``InvalidValueError`` before
anything is written, or it behaves exactly: a message published on ``A`` reaches the
subscribers of ``A`` and nobody else, the members of group ``A`` are those who joined
``A``. Never a driver error. ``ROMANCY_CHAOS_PROFILE=long`` runs many more examples.
"""

from __future__ import annotations

import unicodedata
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import romancy
from romancy import App, InvalidValueError, WorkflowAlreadyExistsError, WorkflowContext
from romancy.limits import NAME_MAX_CHARS
from tests.integration.engine.helpers import wait_for_status
from tests.support.chaos import profile

pytestmark = pytest.mark.chaos

EXAMPLES = 150 if profile().name == "long" else 6
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES < 10,  # the short profile is the same every run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_ALPHABET = st.sampled_from([*"aAzZ éÉèçÇßñÑ-_:.0ǅ\x00", "e\u0301", "İ", "😀"])
_LENGTHS = st.sampled_from([1, 3, 8, NAME_MAX_CHARS - 1, NAME_MAX_CHARS, NAME_MAX_CHARS + 1])


@st.composite
def names(draw: st.DrawFn) -> str:
    """A name of a drawn length, built from characters that collations fold."""
    length = draw(_LENGTHS)
    head = "".join(draw(st.lists(_ALPHABET, min_size=1, max_size=8)))
    return (head * (length // len(head) + 1))[:length]


def _unaccented(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c))


VARIANTS = [
    lambda n: n,
    str.upper,
    str.lower,
    _unaccented,
    lambda n: n + " ",
    lambda n: n.rstrip(" ") or n,
]


def _valid(name: str) -> bool:
    return 0 < len(name) <= NAME_MAX_CHARS and "\x00" not in name


@romancy.workflow
async def fz_member(ctx: WorkflowContext, spec: dict[str, str]) -> object:
    await romancy.subscribe(ctx, spec["channel"])
    await romancy.join_group(ctx, spec["group"])
    return (await romancy.receive(ctx, spec["channel"], timeout=120)).data


async def _start(app: App, name: str, instance_id: str) -> str | None:
    """Start a member on ``name``; ``None`` when the id is refused (on MariaDB, a twin
    spelling of an id already stored)."""
    try:
        started = await app.start_workflow(
            fz_member, {"channel": name, "group": name}, instance_id=instance_id
        )
    except InvalidValueError as error:
        assert "cannot be stored next to" in str(error)
        return None
    except WorkflowAlreadyExistsError:
        return None  # the id variant left the id as it was
    await wait_for_status(app, started, "waiting_for_message")
    return started


@FUZZ
@given(name=names(), variant=st.sampled_from(range(len(VARIANTS))), id_variant=st.booleans())
async def test_names_are_refused_clearly_or_matched_exactly(
    app: App, name: str, variant: int, id_variant: bool
) -> None:
    # Examples share one database: a per-example prefix of digits (no case or accent to
    # fold) keeps earlier examples' members out, and keeps the drawn length.
    token = str(uuid.uuid4().int)[:6]
    name = token + (name[:-6] if len(name) > 6 else name)
    other = VARIANTS[variant](name)
    base_id = f"fz-{uuid.uuid4().hex[:8]}-{name[:40].replace(chr(0), '')}"
    for candidate in {name, other}:
        if not _valid(candidate):
            with pytest.raises(InvalidValueError):
                await romancy.publish(app, candidate, {"refused": True})
            with pytest.raises(InvalidValueError):
                await romancy.get_group_members(app, candidate)
    if not (_valid(name) and _valid(other)):
        return
    other_id = VARIANTS[variant](base_id) if id_variant else f"fz-{uuid.uuid4().hex}"
    if not _valid(base_id) or not _valid(other_id):
        return
    first = await _start(app, name, base_id)
    assert first is not None  # a fresh random id has no twin
    second = await _start(app, other, other_id) or await _start(app, other, str(uuid.uuid4()))
    assert second is not None
    same = other == name
    assert set(await romancy.get_group_members(app, name)) == ({first, second} if same else {first})
    assert set(await romancy.get_group_members(app, other)) == (
        {first, second} if same else {second}
    )
    await romancy.publish(app, name, {"on": "A"})
    assert await app.wait_for_result(first, timeout=30) == {"on": "A"}
    if same:
        assert await app.wait_for_result(second, timeout=30) == {"on": "A"}
    else:
        assert (await app.get_instance(second)).status == "waiting_for_message"
        await app.cancel_workflow(second)
