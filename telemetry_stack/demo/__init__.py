"""Synthetic OGX / Llama Stack telemetry, for seeing the dashboards without a server.

* :mod:`~telemetry_stack.demo.scenario` -- what the deployment serves, and the event
  types :class:`MetricEvent`, :class:`SpanEvent` and :class:`DemoRequest`;
* :mod:`~telemetry_stack.demo.generator` -- the pure, seeded :class:`EventGenerator`
  that invents requests and describes each as those events;
* :mod:`~telemetry_stack.demo.otel` -- the SDK half (:class:`MetricRecorder`,
  :func:`make_meter_provider`, :func:`emit_spans`) that turns events into
  OpenTelemetry measurements and spans with a server's instrument names;
* :mod:`~telemetry_stack.demo.run` -- :func:`run_demo`, which exports them over
  OTLP/HTTP the way an OGX or Llama Stack server run under
  ``opentelemetry-instrument`` does.

Instrument names, kinds, units and attribute names all come from the catalog.  The
OpenTelemetry packages are imported only when the SDK half is used, so importing this
package needs none of them; without them :func:`run_demo` raises
:class:`~telemetry_stack.errors.TelemetryError` saying what to install.
"""

from __future__ import annotations

# Callers import everything from the package, whichever module a name lives in.
from telemetry_stack.demo.generator import EventGenerator, generate_requests
from telemetry_stack.demo.otel import (
    DEFAULT_SERVER,
    INSTALL_HINT,
    MetricRecorder,
    emit_spans,
    make_meter_provider,
)
from telemetry_stack.demo.run import (
    DEFAULT_DURATION,
    DEFAULT_RATE,
    EXPORT_INTERVAL_SECONDS,
    dashboards_to_open,
    default_service_name,
    normalize_endpoint,
    run_demo,
)
from telemetry_stack.demo.scenario import SPAN_KINDS, WARMUP, WEIGHTS, DemoRequest, MetricEvent, SpanEvent

__all__ = [
    "DEFAULT_DURATION",
    "DEFAULT_RATE",
    "DEFAULT_SERVER",
    "default_service_name",
    "EXPORT_INTERVAL_SECONDS",
    "INSTALL_HINT",
    "MetricEvent",
    "SpanEvent",
    "DemoRequest",
    "EventGenerator",
    "generate_requests",
    "dashboards_to_open",
    "normalize_endpoint",
    "MetricRecorder",
    "make_meter_provider",
    "emit_spans",
    "run_demo",
    # The scenario data the tests check the generator against.
    "SPAN_KINDS",
    "WARMUP",
    "WEIGHTS",
]
