"""Strict parsing of JSON text that comes from outside (HTTP bodies).

Python's :func:`json.loads` is lenient where a receiver must not be: it accepts the
non-JSON literals ``NaN``/``Infinity``, turns ``1e400`` into ``inf`` (which no database
column or peer can take back), and recurses once per nesting level, so a body nested a
few thousand levels deep raises :class:`RecursionError`. :func:`parse_json` refuses all
of these with :class:`~romancy.errors.MalformedJSONError`, before anything is stored.
"""

from __future__ import annotations

import json
import math
import operator
import re
from itertools import accumulate, count
from typing import Any

from romancy.errors import MalformedJSONError

#: Default deepest nesting of arrays and objects accepted in a JSON document.
MAX_JSON_DEPTH = 64

# A string literal, possibly unterminated: the match always succeeds, so stripping them
# stays linear even on hostile input. Brackets inside strings do not nest anything.
_STRING = re.compile(r'"(?:[^"\\]|\\[\s\S])*(?:"|\\?\Z)')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_WEIGHTS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def parse_json(raw: bytes | str, *, what: str = "JSON", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The value of the JSON document ``raw`` (UTF-8 when bytes).

    Raises :class:`MalformedJSONError` naming ``what`` when the text is not strict
    RFC 8259 JSON, holds a number no float can represent, or nests deeper than
    ``max_depth`` arrays/objects.
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise MalformedJSONError(f"{what} is not UTF-8: {error}") from None
    depth = nesting_depth(text)
    if depth > max_depth:
        raise MalformedJSONError(
            f"{what} nests arrays/objects {depth} levels deep; the limit is {max_depth}"
        )
    try:
        return json.loads(text, parse_constant=_constant(what), parse_float=_float(what))
    except MalformedJSONError:
        raise
    except json.JSONDecodeError as error:
        raise MalformedJSONError(f"{what} is not valid JSON: {error}") from None
    except (ValueError, RecursionError) as error:  # e.g. an integer of over 4300 digits
        raise MalformedJSONError(f"{what} cannot be read: {error}") from None


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in ``text``, counted without recursion.

    The running depth is a prefix sum taken by C-level iterators (an opener weighs 2, a
    closer 0, minus 1 per bracket), so a megabyte of brackets takes milliseconds.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text)).encode("ascii")
    steps = brackets.translate(_WEIGHTS)
    return max(map(operator.sub, accumulate(steps), count(1)), default=0)


def _constant(what: str) -> Any:
    def refuse(name: str) -> Any:
        raise MalformedJSONError(f"{what} holds {name}, which is not JSON")

    return refuse


def _float(what: str) -> Any:
    def convert(literal: str) -> float:
        value = float(literal)
        if math.isinf(value):
            raise MalformedJSONError(f"{what} holds the number {literal[:40]}, beyond any float")
        return value

    return convert
