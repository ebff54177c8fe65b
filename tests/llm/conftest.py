"""Fixtures of the LLM tests: the tool-effects table on the ``app`` database."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from romancy import App
from tests.llm.workflows import EFFECTS_TABLE


@pytest.fixture
async def effects_table(app: App) -> AsyncIterator[None]:
    """The table the test tools write to; dropped afterwards (the database is shared)."""
    async with app.storage.transaction() as tx:
        await tx.connection.execute(text(EFFECTS_TABLE))
    yield
    async with app.storage.transaction() as tx:
        await tx.connection.execute(text("DROP TABLE llm_tool_effects"))


async def tool_effects(app: App, instance_id: str) -> Counter[str]:
    """How many committed effects each tool has for ``instance_id``."""
    async with app.storage.transaction(read_only=True) as tx:
        rows = await tx.connection.execute(
            text("SELECT tool FROM llm_tool_effects WHERE instance_id = :i"), {"i": instance_id}
        )
        return Counter(str(name) for (name,) in rows)
