"""Facts about stored JSON text that every dialect's input search relies on.

The peers spell the same document differently: romancy and Edda escape every non-ASCII
character (``"\\u043a"``), Go keeps UTF-8 but escapes ``<``, ``>``, ``&``, U+2028 and
U+2029. Some databases look keys up by their spelling, so a search tries each writer's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, case, func

#: Builds the match of ``value`` at ``keys`` in a document (one dialect's SQL).
Matcher = Callable[[ColumnElement[Any], list[str], Any], ColumnElement[bool]]

#: The six characters of JSON's only spelling of the NUL character.
NUL_ESCAPE = "\\u0000"
#: Never inside valid JSON text (control characters must be escaped there).
_PLACEHOLDER = "\x01"

#: Integer filter values are limited to what every backend stores exactly.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
_GO_ESCAPES |= {"\u2028": "\\u2028", "\u2029": "\\u2029", "\b": "\\u0008", "\f": "\\u000c"}


def key_spellings(key: str) -> tuple[str, str]:
    """How romancy/Edda and how Go write ``key`` between the quotes of an object member."""
    python = json.dumps(key)[1:-1]
    go = json.dumps(key, ensure_ascii=False)[1:-1]
    for char, escape in _GO_ESCAPES.items():
        go = go.replace(json.dumps(char, ensure_ascii=False)[1:-1], escape)
    return python, go


def without_nul(document: ColumnElement[Any]) -> ColumnElement[Any]:
    """``document`` with every decoded string ``s`` turned into :func:`nul_free` ``(s)``.

    Databases that cut text at NUL or refuse it read this form instead. Plain text
    replacement is exact here: read left to right, ``\\\\`` pairs are whole escapes, so
    once they are set aside every remaining backslash starts an escape of its own.
    """
    text = func.replace(document, "\\\\", _PLACEHOLDER)
    text = func.replace(func.replace(text, "\\u005c", _PLACEHOLDER), "\\u005C", _PLACEHOLDER)
    text = func.replace(text, NUL_ESCAPE, "\\\\0")
    return func.replace(text, _PLACEHOLDER, "\\\\\\\\")


def nul_free(text: str) -> str:
    """A one-to-one respelling without NUL: backslashes double, NUL becomes ``\\0``."""
    return text.replace("\\", "\\\\").replace("\x00", "\\0")


def nul_guarded(
    column: ColumnElement[Any], keys: list[str], value: Any, match: Matcher
) -> ColumnElement[bool]:
    """``match`` on ``column``, or, for a row holding ``\u0000``, on its NUL-free respelling
    with the keys and string value respelled alike (exact either way: the respelling is
    one-to-one). Only those rare rows pay for the respelling."""
    respelled = nul_free(value) if isinstance(value, str) else value
    return case(
        (
            column.contains(NUL_ESCAPE, autoescape=True),
            match(without_nul(column), [nul_free(key) for key in keys], respelled),
        ),
        else_=match(column, keys, value),
    )


def integer_spellings(value: int) -> list[str]:
    """The JSON texts of the integer literal ``value`` (zero may carry a minus sign)."""
    return [str(value), "-0"] if value == 0 else [str(value)]


def as_integer(value: int | float) -> int | None:
    """``value`` as an integer an integer literal could equal, or ``None``."""
    if isinstance(value, float) and not value.is_integer():
        return None
    number = int(value)
    return number if INT_MIN <= number <= INT_MAX else None


def as_double(value: int | float) -> float | None:
    """``value`` as a double a fraction or exponent literal could equal, or ``None``."""
    double = float(value)
    return double if double == value else None
