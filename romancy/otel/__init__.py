"""OpenTelemetry for romancy (the ``romancy[otel]`` extra): pass
``App(hooks=OTelHooks())`` to trace every workflow, activity, timer and event wait, and
to count them, with the trace kept across suspensions, crashes and workers.

See docs/otel.md for the spans, attributes, metrics and how the trace is carried.
"""

from romancy.otel._hooks import OTelHooks

__all__ = ["OTelHooks"]
