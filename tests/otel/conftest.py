"""An ``OTelHooks`` per test, recording into the SDK's in-memory exporter and reader, and
the ``app`` fixture running with it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from romancy.otel import OTelHooks

from .telemetry import Telemetry


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield Telemetry(
        OTelHooks(tracer_provider=tracer_provider, meter_provider=meter_provider),
        tracer_provider,
        exporter,
        reader,
    )
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture
def app_options(telemetry: Telemetry) -> dict[str, object]:
    return {"hooks": telemetry.hooks}
