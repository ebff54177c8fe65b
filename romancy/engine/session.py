"""Which activity is running: its session (``ctx.session``) and its scope.

The session itself, a lazily opened transaction, is storage's
(:class:`romancy.storage.ActivitySession`); here are only the context variables that
make it reachable from the activity's code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from romancy.storage import ActivitySession

__all__ = ["activity_scope", "current_session", "inside_activity"]

current_session: ContextVar[ActivitySession | None] = ContextVar(
    "romancy_activity_session", default=None
)
_inside_activity: ContextVar[bool] = ContextVar("romancy_inside_activity", default=False)


@contextmanager
def activity_scope(session: ActivitySession | None) -> Iterator[None]:
    """Run the code inside as an activity's (or a compensation's), with ``session`` as
    ``ctx.session`` (``None``: a non-transactional activity)."""
    session_token = current_session.set(session)
    inside_token = _inside_activity.set(True)
    try:
        yield
    finally:
        _inside_activity.reset(inside_token)
        current_session.reset(session_token)


def inside_activity() -> bool:
    """Whether the running code is an activity's: its durable calls are not steps of the
    workflow (replay does not run activities again, so it would never meet them)."""
    return _inside_activity.get()
