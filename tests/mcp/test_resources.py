"""The instance resource shows what another runtime stored, even when it is not JSON."""

from __future__ import annotations

import json
from collections.abc import Callable

from romancy.storage import Storage
from tests.integration.storage.helpers import new_instance
from tests.mcp.support import connect


async def test_an_instance_with_empty_or_raw_columns_is_readable(
    make_database: Callable[[], str],
) -> None:
    database = make_database()
    storage = await Storage.open(database, pool_size=1)
    try:
        await storage.migrate()
        await storage.instances.create_instance(new_instance(instance_id="empty", input_data=""))
        await storage.instances.update_instance("empty", status="completed", output_data="")
        await storage.instances.create_instance(new_instance(instance_id="raw", input_data="hi"))
    finally:
        await storage.close()
    async with connect("http", database) as client:
        for instance_id, shown in (("empty", None), ("raw", "hi")):
            contents = (await client.read_resource(f"romancy://instances/{instance_id}")).contents
            instance = json.loads(contents[0].text)  # type: ignore[union-attr]
            assert instance["instance_id"] == instance_id
            assert (instance["input"], instance["output"]) == (shown, None)
