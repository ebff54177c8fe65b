"""The :class:`WorkflowContext` every workflow and activity receives."""

from romancy.engine._context import WorkflowContext

__all__ = ["WorkflowContext"]
