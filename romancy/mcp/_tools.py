"""The four tools of a served workflow: ``<name>_start``, ``_status``, ``_result``, ``_cancel``.

Each call answers a JSON object (docs/mcp.md lists the keys). A call that cannot be
served raises a :class:`~romancy.RomancyError` whose message tells the client what to
change; the server turns it into a tool error.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import mcp.types as types

from romancy.app import App
from romancy.errors import InvalidValueError, WorkflowFailedError, WorkflowNotCancellableError
from romancy.limits import check_name, check_text
from romancy.mcp._schemas import INSTANCE_ID_SCHEMA, Arguments, input_schema, object_schema
from romancy.mcp._schemas import workflow_input as read_input
from romancy.serialization import to_json
from romancy.storage import InstanceRecord
from romancy.wire.status import TERMINAL_STATUSES, InstanceStatus
from romancy.workflow import Workflow

#: Characters MCP allows in a tool name; 121 leaves room for the longest suffix (``_status``).
TOOL_BASE = re.compile(r"[A-Za-z0-9_.-]{1,121}")

_BY_ID = Arguments(object_schema({"instance_id": INSTANCE_ID_SCHEMA}, ["instance_id"]))
_CANCEL = Arguments(
    object_schema(
        {
            "instance_id": INSTANCE_ID_SCHEMA,
            "reason": {"type": "string", "description": "why it is cancelled (kept in history)"},
        },
        ["instance_id"],
    )
)

Handler = Callable[[App, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Tool:
    """One tool: its MCP definition, how its arguments are checked, and what it does."""

    definition: types.Tool
    arguments: Arguments
    handler: Handler

    async def call(self, app: App, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        """Check the arguments, then run the tool."""
        return await self.handler(app, self.arguments.check(arguments))


class WorkflowTools:
    """The tools that start and follow the instances of one workflow."""

    def __init__(
        self, workflow: Workflow[Any, Any], *, prefix: str | None = None, description: str = ""
    ) -> None:
        base = workflow.name if prefix is None else prefix
        if not TOOL_BASE.fullmatch(base):
            raise InvalidValueError(
                f"tool prefix {base!r} is not a valid MCP tool name stem (1 to 121 letters, "
                "digits, '_', '-' or '.'); pass prefix= to register_workflow"
            )
        self.workflow = workflow
        self.base = base
        about = description or (workflow.fn.__doc__ or "").strip().split("\n\n")[0]
        about = " ".join(about.split())
        start = Arguments(input_schema(workflow))
        self.tools: dict[str, Tool] = {
            f"{base}_start": self._tool(
                "start",
                f"Start workflow {workflow.name}"
                + (f": {about}" if about else "")
                + f". Returns its instance_id at once; follow it with {base}_status "
                f"and {base}_result.",
                start,
                self._start,
            ),
            f"{base}_status": self._tool(
                "status",
                f"Status of a {workflow.name} instance: status, started_at, updated_at.",
                _BY_ID,
                self._status,
            ),
            f"{base}_result": self._tool(
                "result",
                f"Result of a {workflow.name} instance: its output once completed, its error "
                "once failed or cancelled, else finished=false (ask again later).",
                _BY_ID,
                self._result,
            ),
            f"{base}_cancel": self._tool(
                "cancel",
                f"Cancel a running or waiting {workflow.name} instance (its compensations "
                "run). Answers success=true, or success=false and why not.",
                _CANCEL,
                self._cancel,
            ),
        }

    def _tool(self, action: str, description: str, arguments: Arguments, run: Handler) -> Tool:
        title = f"{self.workflow.name}: {action}"
        definition = types.Tool(
            name=f"{self.base}_{action}",
            title=title,
            description=description,
            input_schema=arguments.schema,
            annotations=types.ToolAnnotations(
                title=title,
                read_only_hint=action in ("status", "result"),
                destructive_hint=action == "cancel",
                idempotent_hint=action != "start",
                open_world_hint=False,
            ),
        )
        return Tool(definition, arguments, run)

    async def _start(self, app: App, arguments: dict[str, Any]) -> dict[str, Any]:
        instance_id = await app.start_workflow(self.workflow, read_input(self.workflow, arguments))
        return {"instance_id": instance_id, "workflow_name": self.workflow.name}

    async def _status(self, app: App, arguments: dict[str, Any]) -> dict[str, Any]:
        return (await self._instance(app, arguments)).summary()

    async def _result(self, app: App, arguments: dict[str, Any]) -> dict[str, Any]:
        instance = await self._instance(app, arguments)
        answer: dict[str, Any] = {"instance_id": instance.instance_id, "status": instance.status}
        if instance.status not in TERMINAL_STATUSES:
            return {
                **answer,
                "finished": False,
                "message": f"not finished yet ({instance.status}); ask {self.base}_result "
                "again later",
            }
        result = await app.get_workflow_result(instance.instance_id)
        answer["finished"] = True
        if result.error is None:
            answer["output"] = to_json(result.output, what="workflow output")
        elif isinstance(result.error, WorkflowFailedError):
            answer["error"] = {
                "type": result.error.error_type,
                "message": result.error.error_message,
            }
        else:
            answer["error"] = {"type": type(result.error).__name__, "message": str(result.error)}
        return answer

    async def _cancel(self, app: App, arguments: dict[str, Any]) -> dict[str, Any]:
        instance = await self._instance(app, arguments)
        reason = check_text(arguments.get("reason", ""), "reason")
        try:
            await app.cancel_workflow(instance.instance_id, reason)
        except WorkflowNotCancellableError as error:
            return {
                "instance_id": instance.instance_id,
                "status": instance.status,
                "success": False,
                "message": str(error),
            }
        # The answer is what the database holds, not what was asked for: a cancel racing
        # the run's first steps can be lost by the engine (see docs/mcp.md).
        after = await app.get_instance(instance.instance_id)
        answer = {"instance_id": instance.instance_id, "status": after.status}
        if after.status == InstanceStatus.CANCELLED:
            return {**answer, "success": True}
        return {
            **answer,
            "success": False,
            "message": f"the cancellation did not take effect: the instance is {after.status}; "
            "call cancel again",
        }

    async def _instance(self, app: App, arguments: dict[str, Any]) -> InstanceRecord:
        instance = await app.get_instance(check_name(arguments["instance_id"], "instance_id"))
        if instance.workflow_name != self.workflow.name:
            raise InvalidValueError(
                f"instance {instance.instance_id} is an instance of workflow "
                f"{instance.workflow_name!r}, not {self.workflow.name!r}"
            )
        return instance
