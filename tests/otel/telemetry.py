"""Reading what the in-memory exporter and reader received."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, Metric
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from romancy.otel import OTelHooks


@dataclass
class Telemetry:
    hooks: OTelHooks
    tracer_provider: TracerProvider
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    def spans(self, instance_id: str) -> list[ReadableSpan]:
        """Ended spans about ``instance_id``, in the order they ended."""
        return [
            s
            for s in self.exporter.get_finished_spans()
            if (s.attributes or {}).get("romancy.instance_id") == instance_id
        ]

    def span(self, instance_id: str, name: str) -> ReadableSpan:
        """The one ended span called ``name`` about ``instance_id``."""
        (found,) = [s for s in self.spans(instance_id) if s.name == name]
        return found

    def metrics(self) -> dict[str, list[Any]]:
        """Data points by metric name."""
        points: dict[str, list[Any]] = {}
        for metric in self._metrics():
            points.setdefault(metric.name, []).extend(metric.data.data_points)
        return points

    def units(self) -> dict[str, str | None]:
        """Each metric's unit, by name."""
        return {metric.name: metric.unit for metric in self._metrics()}

    def _metrics(self) -> list[Metric]:
        data = self.reader.get_metrics_data()
        return [
            metric
            for resource in (data.resource_metrics if data else ())
            for scope in resource.scope_metrics
            for metric in scope.metrics
        ]

    def total(self, name: str, **attributes: str) -> float:
        """The sum of a counter's points (histograms: their count) matching ``attributes``."""
        total = 0.0
        for point in self.metrics().get(name, []):
            if all(point.attributes.get(f"romancy.{k}") == v for k, v in attributes.items()):
                total += point.count if isinstance(point, HistogramDataPoint) else point.value
        return total


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.trace_id
