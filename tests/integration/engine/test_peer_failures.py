"""How a failed instance's error reads, whichever runtime ended it and however."""

from __future__ import annotations

import uuid

import pytest

from romancy import App
from romancy.errors import WorkflowFailedError

from ..storage.helpers import new_instance


async def _failed_instance(app: App, output_data: str | None) -> str:
    """A ``failed`` instance with no ``WorkflowFailed`` row, only its ``output_data``."""
    instance_id = f"peer-{uuid.uuid4().hex}"
    await app.storage.instances.create_instance(
        new_instance(instance_id=instance_id, workflow_name="peer_wf", owner_service="peer")
    )
    await app.storage.instances.update_instance(
        instance_id, status="failed", output_data=output_data
    )
    return instance_id


@pytest.mark.parametrize(
    ("output_data", "error_type", "message"),
    [
        # Ours and Edda's usual shape.
        ('{"error_type": "KeyError", "error_message": "k"}', "KeyError", "k"),
        # Edda's crash recovery writes only "error".
        (
            '{"error": "Workflow failed before compensation"}',
            "Error",
            "Workflow failed before compensation",
        ),
        # Go leaves output_data alone (NULL) on failure.
        (None, "Error", ""),
        ('"a bare JSON string"', "Error", "a bare JSON string"),
    ],
)
async def test_a_failure_reads_from_output_data_of_any_shape(
    app: App, output_data: str | None, error_type: str, message: str
) -> None:
    instance_id = await _failed_instance(app, output_data)
    result = await app.get_workflow_result(instance_id)
    assert isinstance(result.error, WorkflowFailedError)
    assert (result.error.error_type, result.error.error_message) == (error_type, message)
