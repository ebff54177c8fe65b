"""A pytest fixture factory for :class:`WorkflowEnvironment` (pytest is imported only
when the factory is called, so the rest of ``romancy.testing`` does not need it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from romancy.testing.environment import WorkflowEnvironment


def workflow_environment(**options: Any) -> Callable[..., AsyncIterator[WorkflowEnvironment]]:
    """A pytest fixture yielding a started :class:`WorkflowEnvironment`; the fixture's
    name is the variable it is assigned to in a conftest or test module::

        env = workflow_environment(activities={charge_card: fake_charge})

    ``options`` are those of :class:`WorkflowEnvironment`. Needs pytest-asyncio.
    """
    import pytest_asyncio

    async def environment() -> AsyncIterator[WorkflowEnvironment]:
        async with WorkflowEnvironment(**options) as env:
            yield env

    fixture: Callable[..., AsyncIterator[WorkflowEnvironment]] = pytest_asyncio.fixture(environment)
    return fixture
