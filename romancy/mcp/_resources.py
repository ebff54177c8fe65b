"""Read-only resources: the instance list, and one instance by id (a resource template).

Both answer JSON text. The list shows the newest instances this App's framework wrote;
one instance adds its input and output as stored.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import mcp.types as types

from romancy.app import App
from romancy.cloudevent import JSON_CONTENT_TYPE
from romancy.errors import InvalidValueError

INSTANCES_URI = "romancy://instances"
INSTANCE_TEMPLATE = "romancy://instances/{instance_id}"
#: Instances in the list resource, newest first.
LIST_LIMIT = 100

RESOURCES = [
    types.Resource(
        name="instances",
        uri=INSTANCES_URI,
        title="Workflow instances",
        description=f"The {LIST_LIMIT} newest workflow instances of this App: id, workflow, "
        "status and times.",
        mime_type=JSON_CONTENT_TYPE,
    )
]
TEMPLATES = [
    types.ResourceTemplate(
        name="instance",
        uri_template=INSTANCE_TEMPLATE,
        title="One workflow instance",
        description="A workflow instance by id (percent-encode it): status, times, input "
        "and output.",
        mime_type=JSON_CONTENT_TYPE,
    )
]


async def read(app: App, uri: str) -> types.ReadResourceResult:
    """The resource at ``uri``; :class:`InvalidValueError` when there is none."""
    if uri == INSTANCES_URI:
        body = await _instance_list(app)
    else:
        prefix = INSTANCE_TEMPLATE.removesuffix("{instance_id}")
        if not uri.startswith(prefix) or "/" in uri[len(prefix) :]:
            raise InvalidValueError(
                f"unknown resource {uri!r}; this server has {INSTANCES_URI} and {INSTANCE_TEMPLATE}"
            )
        body = await _instance(app, unquote(uri[len(prefix) :]))
    text = json.dumps(body, ensure_ascii=False, indent=2)
    return types.ReadResourceResult(
        contents=[types.TextResourceContents(uri=uri, mime_type=JSON_CONTENT_TYPE, text=text)]
    )


async def _instance_list(app: App) -> dict[str, Any]:
    page = await app.find_instances_with_options(limit=LIST_LIMIT)
    return {
        "instances": [instance.summary() for instance in page.instances],
        "has_more": page.has_more,
    }


async def _instance(app: App, instance_id: str) -> dict[str, Any]:
    return (await app.get_instance(instance_id)).details()
