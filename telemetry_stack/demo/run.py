"""`llama-telemetry demo`: send the generator's requests over OTLP/HTTP for a while.

:func:`run_demo` checks its options and the endpoint, builds SDK meter and tracer
providers with OTLP/HTTP exporters, sends about ``rate`` requests a second, reports
progress about once a second and returns a summary.  Like a real server's, its
metric exporter sends exponential histograms instead of explicit-bucket ones when
``OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`` asks for them.
"""

from __future__ import annotations

import logging
import math
import time
import urllib.parse
from collections.abc import Callable

from telemetry_stack import catalog as c
from telemetry_stack.demo.generator import EventGenerator
from telemetry_stack.demo.otel import (
    DEFAULT_SERVER,
    MetricRecorder,
    _otel,
    emit_spans,
    make_meter_provider,
)
from telemetry_stack.errors import TelemetryError, UsageError

DEFAULT_DURATION = 60.0
DEFAULT_RATE = 2.0
EXPORT_INTERVAL_SECONDS = 1.0
MAX_RATE = 500.0
EXPORT_TIMEOUT_SECONDS = 5.0


def default_service_name(server: c.Server) -> str:
    """The demo app's service.name unless the user names one: ``ogx-demo``, ``llama-stack-demo``."""
    return f"{server.default_service_name}-demo"


def dashboards_to_open() -> list[dict[str, str]]:
    """uid, title and Grafana path of each provisioned dashboard, overview first."""
    from telemetry_stack.dashboards import build_all, dashboard_path

    return [{"uid": d["uid"], "title": d["title"], "path": dashboard_path(d["uid"])} for d in build_all().values()]


def normalize_endpoint(endpoint: str) -> str:
    """``http://host:4318`` from a user's OTLP/HTTP endpoint (signal paths stripped)."""
    text = endpoint.strip().rstrip("/")
    for suffix in ("/v1/metrics", "/v1/traces", "/v1/logs"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    parsed = urllib.parse.urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UsageError(f"invalid OTLP/HTTP endpoint {endpoint!r}", hint="Give a URL such as http://127.0.0.1:4318.")
    try:
        _ = parsed.port  # raises ValueError for a non-numeric port
    except ValueError:
        raise UsageError(f"invalid port in OTLP/HTTP endpoint {endpoint!r}") from None
    return text


class _ExportErrors(logging.Handler):
    """Counts the SDK's export warnings instead of letting them clutter the terminal."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.last = record.getMessage()


def _check_reachable(base: str) -> None:
    """Fail fast, with a hint, when nothing accepts OTLP/HTTP at ``base``."""
    import requests

    url = f"{base}/v1/metrics"
    try:
        answer = requests.post(
            url, data=b"", timeout=EXPORT_TIMEOUT_SECONDS, headers={"Content-Type": "application/x-protobuf"}
        )
    except requests.RequestException as exc:
        raise TelemetryError(
            f"cannot reach the OTLP/HTTP endpoint {base} ({type(exc).__name__}).",
            hint="Start the stack first with `llama-telemetry up`, or pass the right endpoint.",
        ) from None
    if answer.status_code >= 300:
        raise TelemetryError(
            f"the OTLP/HTTP endpoint {base} answered {answer.status_code} to {url}.",
            hint="Is this the collector's OTLP/HTTP port (4318 by default)?",
        )


def run_demo(
    endpoint: str,
    duration: float = DEFAULT_DURATION,
    rate: float = DEFAULT_RATE,
    service_name: str | None = None,
    progress: Callable[[dict], None] | None = None,
    *,
    seed: int | None = None,
    check_endpoint: bool = True,
    server: c.Server = DEFAULT_SERVER,
) -> dict:
    """Send synthetic ``server`` metrics and traces to ``endpoint`` for ``duration`` s.

    Instruments are named as ``server`` names them; ``service_name`` defaults to
    :func:`default_service_name`.

    About ``rate`` requests per second are simulated.  ``progress`` (if given) is
    called about once a second and once at the end with a dict: ``elapsed``,
    ``duration``, ``requests``, ``errors``, ``spans``, ``done``.  Returns a summary:
    ``endpoint``, ``service_name``, ``duration`` (seconds actually spent),
    ``requests``, ``errors``, ``spans``, ``metric_events``, ``export_errors``,
    ``last_export_error`` and ``dashboards`` (uid, title, path of each).
    """
    if not (isinstance(duration, (int, float)) and math.isfinite(duration) and duration > 0):
        raise UsageError(f"--duration must be a positive number of seconds, not {duration!r}.")
    if not (isinstance(rate, (int, float)) and 0 < rate <= MAX_RATE):
        raise UsageError(f"--rate must be between 0 and {MAX_RATE:g} requests per second, not {rate!r}.")
    if service_name is None:
        service_name = default_service_name(server)
    if not service_name or not service_name.strip():
        raise UsageError("--service-name must not be empty.")
    base = normalize_endpoint(endpoint)
    otel = _otel()
    if check_endpoint:
        _check_reachable(base)

    resource = otel.Resource.create(
        {
            "service.name": service_name,
            "service.version": "demo",
            "deployment.environment.name": "demo",
        }
    )
    errors_handler = _ExportErrors()
    otel_logger = logging.getLogger("opentelemetry")
    otel_logger.addHandler(errors_handler)
    meter_provider = tracer_provider = None
    sent = failed = spans = metric_events = 0
    clock = time.monotonic
    started = clock()
    try:
        reader = otel.PeriodicExportingMetricReader(
            otel.OTLPMetricExporter(endpoint=f"{base}/v1/metrics", timeout=EXPORT_TIMEOUT_SECONDS),
            export_interval_millis=EXPORT_INTERVAL_SECONDS * 1000,
        )
        meter_provider = make_meter_provider([reader], resource)
        tracer_provider = otel.TracerProvider(resource=resource)
        tracer_provider.add_span_processor(
            otel.BatchSpanProcessor(
                otel.OTLPSpanExporter(endpoint=f"{base}/v1/traces", timeout=EXPORT_TIMEOUT_SECONDS),
                schedule_delay_millis=EXPORT_INTERVAL_SECONDS * 1000,
            )
        )
        recorder = MetricRecorder(meter_provider, server)
        tracer = tracer_provider.get_tracer("llama_stack.demo")
        generator = EventGenerator(seed)

        def report(elapsed: float, done: bool = False) -> None:
            if progress is not None:
                progress(
                    {
                        "elapsed": elapsed,
                        "duration": duration,
                        "requests": sent,
                        "errors": failed,
                        "spans": spans,
                        "done": done,
                    }
                )

        next_report = started + 1.0
        while True:
            now = clock()
            if now - started >= duration:
                break
            if now >= next_report:
                report(clock() - started)
                next_report += 1.0
            due = started + sent / rate
            if due > now:
                time.sleep(max(0.0, min(due, next_report, started + duration) - now))
                continue
            request = generator.next_request()
            recorder.record_all(request.metrics)
            spans += emit_spans(tracer, request)
            metric_events += len(request.metrics)
            sent += 1
            failed += request.failed
        recorder.record_all(generator.drain())
    finally:
        try:
            for provider in (meter_provider, tracer_provider):
                if provider is not None:
                    provider.force_flush(EXPORT_TIMEOUT_SECONDS * 2000)
                    provider.shutdown()
        finally:
            otel_logger.removeHandler(errors_handler)
    elapsed = clock() - started
    report(elapsed, done=True)
    return {
        "endpoint": base,
        "service_name": service_name,
        "naming": server.key,
        "duration": round(elapsed, 1),
        "requests": sent,
        "errors": failed,
        "spans": spans,
        "metric_events": metric_events,
        "export_errors": errors_handler.count,
        "last_export_error": errors_handler.last,
        "dashboards": dashboards_to_open(),
    }
