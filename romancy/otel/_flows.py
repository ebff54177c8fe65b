"""What one worker holds open per workflow instance, between the hooks that open and
close its spans."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from opentelemetry.trace import Span

#: Attribute keys, Go Romancy's spelling.
INSTANCE_ID = "romancy.instance_id"
WORKFLOW_NAME = "romancy.workflow_name"
ACTIVITY_ID = "romancy.activity_id"
ACTIVITY_NAME = "romancy.activity_name"
IS_REPLAY = "romancy.is_replay"
ATTEMPT = "romancy.attempt"
DURATION_MS = "romancy.duration_ms"

#: Instances suspended here with a timer or event-wait span still open, kept at most:
#: a wait that ends on another worker never closes here, and must not pile up.
MAX_IDLE = 10_000


@dataclass
class Activity:
    span: Span
    started: float = field(default_factory=time.monotonic)


@dataclass
class Flow:
    """One instance on this worker: the workflow span of the run executing here now (a
    run ends with the workflow or when it suspends) and its open children."""

    workflow_name: str
    segment: Span | None = None
    segment_started: float = 0.0
    activities: dict[str, Activity] = field(default_factory=dict)
    #: Timer and event waits, by ``timer:<id>`` / ``event:<type>``: they outlive the run.
    waits: dict[str, Activity] = field(default_factory=dict)
    replay: Activity | None = None


class Flows(dict[str, Flow]):
    """Flows by instance id (insertion order: the oldest idle one is dropped first)."""

    def flow(self, instance_id: str, workflow_name: str) -> Flow:
        """The instance's flow, created when this worker holds none yet."""
        found = self.get(instance_id)
        if found is None:
            found = self[instance_id] = Flow(workflow_name)
        return found

    def idle(self, instance_id: str) -> list[Activity]:
        """The instance's run suspended: forget it unless a wait is open, and drop the
        oldest idle flows over :data:`MAX_IDLE`. Returns the waits to end now."""
        flow = self.pop(instance_id, None)
        if flow is None or not flow.waits:
            return []
        self[instance_id] = flow  # to the end: the newest idle flow
        dropped: list[Activity] = []
        idle = [key for key, f in self.items() if f.segment is None]
        for key in idle[: max(0, len(idle) - MAX_IDLE)]:
            dropped.extend(self.pop(key).waits.values())
        return dropped
