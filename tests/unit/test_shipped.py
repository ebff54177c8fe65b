"""The shipped folders are found in a source checkout as they would be in a wheel."""

from __future__ import annotations

from pathlib import Path

from romancy.shipped import shipped_folder
from romancy.storage.migrations import bundled_migrations_dir
from romancy.validation.json_schemas import schemas_dir

REPO = Path(__file__).resolve().parents[2]


def test_the_migrations_and_schemas_are_found() -> None:
    assert (bundled_migrations_dir() / "sqlite").is_dir()
    assert (schemas_dir() / "history-event.json").is_file()


def test_the_checkout_folder_serves_when_the_package_has_none() -> None:
    assert shipped_folder("_not_packaged", "schema/json") == REPO / "schema" / "json"


def test_a_folder_in_neither_place_is_none() -> None:
    assert shipped_folder("_not_packaged", "schema/not_there") is None
