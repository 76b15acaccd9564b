"""`llama-telemetry verify`: prove the running pipeline end to end, each step timed.

Plain OTLP/HTTP with JSON encoding (part of the OTLP spec) keeps this free of the OpenTelemetry SDK:
one span to the collector, found again through Jaeger's query API; one metric, found again in
Prometheus; and Grafana's own health checks of its provisioned datasources.
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from telemetry_stack.catalog import DASHBOARD_SERVER
from telemetry_stack.render import DATASOURCE_UIDS
from telemetry_stack.reporting import Reporter
from telemetry_stack.results import StackReport, VerifyResult, VerifyStep
from telemetry_stack.services import GRAFANA_ADMIN_USER

REQUEST_TIMEOUT = 2.0
POLL_INTERVAL = 0.2
VERIFY_METRIC = "telemetry_verify"  # not a server's own name: arrives as ogx_telemetry_verify (and a llama_stack_ copy)


class _Failed(Exception):
    pass


class _Fatal(_Failed):
    """A failure that waiting cannot fix (e.g. a refused login): not retried."""


def _http(
    method: str, url: str, body: dict | None = None, auth: tuple[str, str] | None = None
) -> tuple[int, dict | None]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    except (OSError, ValueError) as exc:
        raise _Failed(f"{url}: {getattr(exc, 'reason', exc)}") from None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def _poll(deadline: float, attempt: Callable[[], str | None]) -> str:
    """Call attempt() until it returns a detail string (success) or the deadline passes."""
    last = "no answer yet"
    while True:
        try:
            detail = attempt()
            if detail is not None:
                return detail
        except _Fatal:
            raise
        except _Failed as exc:
            last = str(exc)
        if time.monotonic() > deadline:
            raise _Failed(f"not seen in time ({last})")
        time.sleep(POLL_INTERVAL)


def _resource(service_name: str) -> dict:
    return {"attributes": [{"key": "service.name", "value": {"stringValue": service_name}}]}


def verify_stack(stack: StackReport, grafana_password: str, timeout: float, ui: Reporter) -> VerifyResult:
    """Run every step against the stack `up` or `status` reported."""
    urls = stack.urls
    token = os.urandom(8).hex()
    service_name = f"llama-telemetry-verify-{token}"
    trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
    deadline = time.monotonic() + timeout
    now_ns = time.time_ns()

    def post_otlp(signal: str, body: dict) -> None:
        status, _ = _http("POST", f"{urls['otlp-http']}/v1/{signal}", body)
        if status != 200:
            raise _Failed(f"collector answered HTTP {status}")

    def send_span() -> str:
        span = {
            "traceId": trace_id,
            "spanId": span_id,
            "name": "llama-telemetry verify",
            "kind": 2,
            "startTimeUnixNano": str(now_ns),
            "endTimeUnixNano": str(now_ns + 1_000_000),
        }
        post_otlp(
            "traces", {"resourceSpans": [{"resource": _resource(service_name), "scopeSpans": [{"spans": [span]}]}]}
        )
        return f"trace {trace_id} accepted by the collector"

    def span_in_jaeger() -> str | None:
        status, data = _http("GET", f"{urls['jaeger']}/api/traces/{trace_id}")
        if status == 200 and data and data.get("data"):
            return f"trace {trace_id} found in Jaeger"
        return None

    def send_metric() -> str:
        point = {
            "asDouble": 1.0,
            "timeUnixNano": str(time.time_ns()),
            "attributes": [{"key": "verify_id", "value": {"stringValue": token}}],
        }
        metric = {"name": VERIFY_METRIC, "gauge": {"dataPoints": [point]}}
        post_otlp(
            "metrics",
            {"resourceMetrics": [{"resource": _resource(service_name), "scopeMetrics": [{"metrics": [metric]}]}]},
        )
        return f"metric {VERIFY_METRIC} accepted by the collector"

    def metric_in_prometheus() -> str | None:
        query = f'{DASHBOARD_SERVER.series_prefix}{VERIFY_METRIC}{{verify_id="{token}"}}'
        status, data = _http("GET", f"{urls['prometheus']}/api/v1/query?" + urllib.parse.urlencode({"query": query}))
        if status == 200 and data and data.get("data", {}).get("result"):
            return f"{query} found in Prometheus"
        return None

    def send_log() -> str:
        record = {
            "timeUnixNano": str(time.time_ns()),
            "severityText": "INFO",
            "body": {"stringValue": f"llama-telemetry verify {token}"},
            "traceId": trace_id,
            "spanId": span_id,
        }
        post_otlp(
            "logs", {"resourceLogs": [{"resource": _resource(service_name), "scopeLogs": [{"logRecords": [record]}]}]}
        )
        return "log record accepted by the collector"

    def log_in_loki() -> str | None:
        # Loki makes the service.name resource attribute the stream label service_name.
        query = f'{{service_name="{service_name}"}} |= "{token}"'
        params = {"query": query, "start": str(now_ns - 300 * 10**9), "limit": "10"}
        status, data = _http("GET", f"{urls['loki']}/loki/api/v1/query_range?" + urllib.parse.urlencode(params))
        if status == 200 and data and data.get("data", {}).get("result"):
            return f"{query} found in Loki"
        return None

    def grafana_datasources() -> str | None:
        answers = []
        for kind, uid in DATASOURCE_UIDS.items():
            if kind == "loki" and "loki" not in urls:
                continue  # provisioned with --logs only
            status, data = _http(
                "GET",
                f"{urls['grafana']}/api/datasources/uid/{uid}/health",
                auth=(GRAFANA_ADMIN_USER, grafana_password),
            )
            if status == 401:
                raise _Fatal("Grafana refused the admin login (pass the password with --grafana-password)")
            if status != 200 or (data or {}).get("status") != "OK":
                raise _Failed(f"{kind} datasource: HTTP {status} {(data or {}).get('message', '')}".strip())
            answers.append(kind)
        return f"datasources {', '.join(answers)} answer through Grafana"

    steps = [
        ("send a span over OTLP/HTTP", send_span),
        ("find it in Jaeger", lambda: _poll(deadline, span_in_jaeger)),
        ("send a metric over OTLP/HTTP", send_metric),
        ("find it in Prometheus", lambda: _poll(deadline, metric_in_prometheus)),
    ]
    if "loki" in urls:  # deployed with --logs
        steps += [
            ("send a log record over OTLP/HTTP", send_log),
            ("find it in Loki", lambda: _poll(deadline, log_in_loki)),
        ]
    steps.append(("check Grafana's datasources", lambda: _poll(deadline, grafana_datasources)))
    result = VerifyResult(service_name, [])
    for title, step in steps:
        started = time.monotonic()
        try:
            detail, passed = step(), True
        except _Failed as exc:
            detail, passed = str(exc), False
        latency = time.monotonic() - started
        result.steps.append(VerifyStep(title, passed, round(latency, 3), detail))
        mark = "ok  " if passed else "FAIL"
        ui.info(f"{mark} {title:<30} {latency * 1000:7.0f} ms  {detail}")
        if not passed and title.startswith("send"):
            break  # nothing to look for downstream
    return result
