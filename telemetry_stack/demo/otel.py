"""The OpenTelemetry SDK half: the generator's events as SDK measurements and spans.

:class:`MetricRecorder` creates the catalog instruments a server defines, named as
that server names them (:class:`~telemetry_stack.catalog.Server`), with that
server's buckets (the catalog's explicit ones, else the SDK's defaults), the way an
OGX or Llama Stack server run under ``opentelemetry-instrument`` does;
:func:`emit_spans` replays a request's span tree on a tracer.

The OpenTelemetry packages are imported only inside :func:`_otel`, on first use, so
importing this module needs none of them; without them :func:`_otel` raises
:class:`~telemetry_stack.errors.TelemetryError` saying what to install.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telemetry_stack import catalog as c
from telemetry_stack.demo.scenario import DemoRequest, MetricEvent, SpanEvent
from telemetry_stack.errors import TelemetryError

INSTALL_HINT = "pip install 'llama-telemetry[demo]'"
DEFAULT_SERVER = c.OGX  # whose instrument names the demo uses unless told (--naming)
SCOPE_NAMES = {  # meter (instrumentation scope) per catalog domain of auto-instrumentation
    "gen_ai": "opentelemetry.instrumentation.openai_v2",
    "http": "opentelemetry.instrumentation.fastapi",
}
SERVER_SCOPES = {"requests": "server"}  # the servers' meters are <namespace>.<domain>, requests on .server


@functools.lru_cache(maxsize=1)  # emit_spans asks for it on every request; a failed import is not cached
def _otel():
    """The OpenTelemetry modules the demo uses, or a TelemetryError saying what to install."""
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        missing = exc.name or "an OpenTelemetry package"
        raise TelemetryError(
            f"the demo needs the OpenTelemetry SDK and OTLP/HTTP exporter ({missing} is not installed).",
            hint=f"Install them with: {INSTALL_HINT}",
        ) from None
    return _Otel(
        trace,
        OTLPMetricExporter,
        OTLPSpanExporter,
        MeterProvider,
        PeriodicExportingMetricReader,
        ExplicitBucketHistogramAggregation,
        View,
        Resource,
        TracerProvider,
        BatchSpanProcessor,
    )


@dataclass(frozen=True)
class _Otel:
    trace: Any
    OTLPMetricExporter: Any
    OTLPSpanExporter: Any
    MeterProvider: Any
    PeriodicExportingMetricReader: Any
    ExplicitBucketHistogramAggregation: Any
    View: Any
    Resource: Any
    TracerProvider: Any
    BatchSpanProcessor: Any


def make_meter_provider(readers: Sequence[Any], resource: Any = None) -> Any:
    """An SDK MeterProvider reading into ``readers``, without views, as the real servers build theirs."""
    otel = _otel()
    kwargs = {"resource": resource} if resource is not None else {}
    return otel.MeterProvider(metric_readers=list(readers), **kwargs)


class MetricRecorder:
    """The catalog instruments ``server`` defines, created on a MeterProvider as that server names them;
    records :class:`MetricEvent`s (events of instruments the server lacks are dropped, as it would)."""

    def __init__(self, meter_provider: Any, server: c.Server = DEFAULT_SERVER) -> None:
        self._instruments: dict[str, Any] = {}
        for inst in c.INSTRUMENTS:
            if not inst.defined_by(server):
                continue
            scope = SCOPE_NAMES.get(inst.domain, f"{server.namespace}.{SERVER_SCOPES.get(inst.domain, inst.domain)}")
            meter = meter_provider.get_meter(scope, "1.0.0")
            kwargs: dict[str, Any] = {"unit": inst.unit, "description": inst.description}
            if inst.buckets is not None:
                kwargs["explicit_bucket_boundaries_advisory"] = list(inst.buckets)
            create = {
                c.COUNTER: meter.create_counter,
                c.HISTOGRAM: meter.create_histogram,
                c.UPDOWNCOUNTER: meter.create_up_down_counter,
            }[inst.kind]
            self._instruments[inst.name] = create(inst.otel_name(server), **kwargs)

    def record(self, event: MetricEvent) -> None:
        instrument = self._instruments.get(event.instrument.name)
        if instrument is None:
            return
        attributes = dict(event.attributes)
        if event.instrument.kind == c.HISTOGRAM:
            instrument.record(event.value, attributes)
        else:
            instrument.add(event.value, attributes)

    def record_all(self, events: Sequence[MetricEvent]) -> None:
        for event in events:
            self.record(event)


def emit_spans(tracer: Any, request: DemoRequest, end_time_ns: int | None = None) -> int:
    """Start and end the request's spans (ending at ``end_time_ns``); return how many."""
    otel = _otel()
    kinds = {
        "server": otel.trace.SpanKind.SERVER,
        "client": otel.trace.SpanKind.CLIENT,
        "internal": otel.trace.SpanKind.INTERNAL,
    }
    end_ns = end_time_ns if end_time_ns is not None else time.time_ns()
    origin = end_ns - round(request.duration * 1e9)

    def emit(spec: SpanEvent, parent_context: Any) -> None:
        start = origin + round(spec.start * 1e9)
        span = tracer.start_span(
            spec.name, context=parent_context, kind=kinds[spec.kind], attributes=dict(spec.attributes), start_time=start
        )
        if spec.error:
            span.set_status(otel.trace.Status(otel.trace.StatusCode.ERROR, spec.error))
        context = otel.trace.set_span_in_context(span)
        for child in spec.children:
            emit(child, context)
        span.end(end_time=start + round(spec.duration * 1e9))

    emit(request.span, None)
    return request.span_count
