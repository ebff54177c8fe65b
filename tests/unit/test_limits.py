"""The name and text checks every API argument goes through before anything is written."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from romancy.errors import InvalidValueError
from romancy.limits import check_name, check_text


@pytest.mark.parametrize("check", [check_name, check_text])
def test_a_value_that_is_not_a_string_is_named_with_its_type(
    check: Callable[[object, str], str],
) -> None:
    with pytest.raises(InvalidValueError, match=r"^reason must be a string, not int$"):
        check(5, "reason")


def test_text_keeps_its_nul_and_size_rules() -> None:
    assert check_text("ok", "reason") == "ok"
    with pytest.raises(InvalidValueError, match="reason contains a NUL character"):
        check_text("a\x00b", "reason")
    with pytest.raises(InvalidValueError, match="reason is 4 bytes; the limit is 3"):
        check_text("éé", "reason", max_bytes=3)
    assert check_text("é" * 40_000, "reason", max_bytes=None) == "é" * 40_000
