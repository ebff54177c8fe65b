"""What the matrix cases share: the cell they are handed, and the modes several need.

A case module (``conformance/<case>/case.py``) declares ``TITLE`` (one line for listings
and reports), ``SENDER_MODES`` and ``RECEIVER_MODES`` (the crosstest modes the sender and
the receiver runtime must support, or the cell is "not run" with the reason) and
``async def run(cell) -> str``. A pairing several cases need is named here::

    from .. import _case

    TITLE = "metadata round trip"
    SENDER_MODES, RECEIVER_MODES = _case.PUBLISHER_TO_SUBSCRIBER

    async def run(cell: _case.Cell) -> str: ...

``Cell`` exists for type checkers only: a case needs nothing but the cell the matrix
hands it, so the same file runs from a checkout (where the runner is the top-level
``crosstest``) and from the installed ``romancy.conformance`` (``romancy.crosstest``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crosstest.cell import Cell as Cell

#: A sender's modes and a receiver's modes.
Modes = tuple[tuple[str, ...], tuple[str, ...]]

#: The sender publishes, the receiver subscribes.
PUBLISHER_TO_SUBSCRIBER: Modes = (("publisher",), ("subscriber",))
#: Each side both publishes and subscribes.
BOTH_WAYS: Modes = (("publisher", "subscriber"), ("publisher", "subscriber"))
#: The sender serves CloudEvents over HTTP, the receiver waits for them.
SERVED_EVENTS: Modes = (("serve",), ("event-waiter",))
