"""Folders of data files shipped with romancy: the migrations and the JSON Schemas.

In a wheel they sit inside the package (``romancy/_migrations``); in a source checkout
they are read where they are kept (``schema/db/migrations``), so both work unbuilt.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: The root of a source checkout, when romancy runs from one.
_CHECKOUT = Path(__file__).resolve().parents[1]


def shipped_folder(packaged: str, checkout: str) -> Path | None:
    """``romancy/<packaged>`` of an installed wheel, else ``<checkout>`` (relative to the
    source checkout's root); ``None`` when neither folder exists."""
    for folder in (Path(str(resources.files("romancy"))) / packaged, _CHECKOUT / checkout):
        if folder.is_dir():
            return folder
    return None
