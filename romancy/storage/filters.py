"""What an instance search may hold (docs/storage.md, "Searching instances"): filters
and id fragments are checked when the query is built, before any SQL exists."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from romancy.errors import InvalidValueError
from romancy.storage.dialects.json_text import INT_MAX, INT_MIN


def filter_keys(path: str) -> list[str]:
    """The object keys a filter path walks: every dot separates two keys."""
    return path.split(".")


def check_input_filters(filters: Mapping[str, Any]) -> None:
    """Refuse, naming the filter, a path or value no backend can match alike."""
    for path, value in filters.items():
        where = f"input filter {path!r}"
        if not isinstance(path, str) or any(not key for key in filter_keys(path)):
            raise InvalidValueError(f"{where}: the path has an empty key")
        if "\x00" in path or (isinstance(value, str) and "\x00" in value):
            raise InvalidValueError(f"{where}: NUL characters cannot be searched for")
        if isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        if isinstance(value, int):
            if not INT_MIN <= value <= INT_MAX:
                raise InvalidValueError(f"{where}: integers must fit in 64-bit signed range")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidValueError(f"{where}: numbers must be finite")
        else:
            raise InvalidValueError(
                f"{where}: only strings, numbers, booleans and None match exactly, "
                f"not {type(value).__name__}"
            )


def check_id_fragment(fragment: str | None) -> None:
    """Refuse an ``instance_id_contains`` no id can hold."""
    if fragment is not None and "\x00" in fragment:
        raise InvalidValueError("instance_id_contains: ids never contain NUL characters")
