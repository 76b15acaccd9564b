"""`up --logs`: the real collector's logs pipeline into Loki (a stand-in: Loki is AGPL and cannot be built here),
GenAI log events and their trace links, redaction of their content, and the fifth service in every command."""

from __future__ import annotations

import itertools
import os
import time
import urllib.parse

import requests

from tests.conftest import run_cli
from tests.dashboard_queries import grafana_interpolate
from tests.engine.conftest import deployed, published_urls

CONTENT = "my secret question"
ANSWER = "the model's answer"


def _attributes(values: dict) -> list[dict]:
    return [{"key": k, "value": {"stringValue": v}} for k, v in values.items()]


def _genai_events(service: str, trace_id: str, span_id: str) -> dict:
    """What a chat completion under opentelemetry-instrument with content capture exports: the user's message and
    the model's choice as events (OTLP event_name, content in the body), and the latest conventions' details
    event, which names the model."""
    now, order = time.time_ns(), itertools.count()

    def event(name: str, body: dict, attributes: dict) -> dict:
        # Each event at its own nanosecond, as an instrumentation emits them: Loki keeps one of several entries of a
        # stream with the same timestamp and line (redacted bodies are all empty).
        return {
            "timeUnixNano": str(now + next(order)),
            "eventName": name,
            "body": {"kvlistValue": {"values": [{"key": k, "value": {"stringValue": v}} for k, v in body.items()]}},
            "attributes": _attributes(attributes),
            "traceId": trace_id,
            "spanId": span_id,
        }

    records = [
        event("gen_ai.user.message", {"content": CONTENT}, {"gen_ai.system": "openai"}),
        event("gen_ai.choice", {"content": ANSWER, "finish_reason": "stop"}, {"gen_ai.system": "openai"}),
        event(
            "gen_ai.client.inference.operation.details",
            {"content": ANSWER},
            {"gen_ai.request.model": "llama-3", "gen_ai.input.messages": f'[{{"content": "{CONTENT}"}}]'},
        ),
    ]
    resource = {"attributes": _attributes({"service.name": service})}
    return {"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": records}]}]}


def _loki(urls: dict, query: str, expect: int = 1, timeout: float = 30) -> list[dict]:
    """Poll Loki until the query returns at least `expect` log lines (the collector batches)."""
    deadline = time.monotonic() + timeout
    while True:
        params = {"query": query, "start": str(time.time_ns() - 600 * 10**9), "limit": "100"}
        answer = requests.get(f"{urls['loki']}/loki/api/v1/query_range?{urllib.parse.urlencode(params)}", timeout=5)
        streams = answer.json()["data"]["result"] if answer.status_code == 200 else []
        if sum(len(s["values"]) for s in streams) >= expect:
            return streams
        assert time.monotonic() < deadline, f"{query}: {answer.status_code} {answer.text[:300]}"
        time.sleep(0.5)


def test_logs_reach_loki_linked_to_their_trace(engine_name, images):
    with deployed(engine_name, images, "logs", "--logs") as (env, up):
        assert [s["name"] for s in up.json["services"]] == ["jaeger", "otel-collector", "prometheus", "grafana", "loki"]
        assert all(s["healthy"] for s in up.json["services"])
        assert up.json["env"]["OTEL_LOGS_EXPORTER"] == "otlp"
        urls = published_urls(up.json)

        status = run_cli("status", "--json", env=env)
        assert status.code == 0 and [s["name"] for s in status.json["services"]][-1] == "loki", status.stdout
        verify = run_cli("verify", "--json", env=env)
        assert verify.code == 0, verify.stdout
        steps = [s["step"] for s in verify.json["steps"]]
        assert "find it in Loki" in steps and all(s["ok"] for s in verify.json["steps"])

        trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
        sent = requests.post(
            f"{urls['otlp-http']}/v1/logs", json=_genai_events("logs-app", trace_id, span_id), timeout=5
        )
        assert sent.status_code == 200, sent.text
        streams = _loki(urls, '{service_name="logs-app"}', expect=3)
        lines = [value for stream in streams for value in stream["values"]]
        labels = [stream["stream"] for stream in streams]
        # The event name survives (Loki drops OTLP's event_name field; the collector copies it to event.name),
        # and the trace id is there for Grafana's derived field to link to Jaeger.
        assert {lab.get("event_name") for lab in labels} >= {"gen_ai.user.message", "gen_ai.choice"}, labels
        assert {lab.get("trace_id") for lab in labels} == {trace_id}, labels
        assert any(CONTENT in line for _, line in lines), lines  # content kept without --redact-content

        # Every query of the logs board returns data for this app.
        from telemetry_stack.dashboards import logs

        board = logs.logs()
        for panel in board["panels"]:
            for target in panel["targets"]:
                # $__auto: the step Grafana picks for the time range (a minute over these few minutes).
                expr = grafana_interpolate(
                    target["expr"].replace("$__auto", "1m"), {"service"}, {"service": "logs-app"}
                )
                assert _loki(urls, expr) if panel["type"] == "logs" else _metric(urls, expr), (panel["title"], expr)

        # `up` without --logs removes Loki and keeps its data; status then shows the four.
        again = run_cli("up", "--json", env=env)
        assert again.code == 0, again.stderr
        assert [s["name"] for s in again.json["services"]] == ["jaeger", "otel-collector", "prometheus", "grafana"]
        assert again.json["env"]["OTEL_LOGS_EXPORTER"] == "none"
        status = run_cli("status", "--json", env=env)
        assert status.code == 0 and len(status.json["services"]) == 4, status.stdout
        down = run_cli("down", "--json", env=env)
        assert down.code == 0 and "llama-telemetry-logs-loki-data" in down.json["kept_volumes"], down.stdout


def _metric(urls: dict, expr: str, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        params = {"query": expr, "start": str(time.time_ns() - 600 * 10**9), "step": "15"}
        answer = requests.get(f"{urls['loki']}/loki/api/v1/query_range?{urllib.parse.urlencode(params)}", timeout=5)
        result = answer.json()["data"]["result"] if answer.status_code == 200 else []
        if result:
            return result
        assert time.monotonic() < deadline, f"{expr}: {answer.status_code} {answer.text[:300]}"
        time.sleep(0.5)


def test_redact_content_empties_genai_event_bodies_and_drops_content_attributes(engine_name, images):
    with deployed(engine_name, images, "logsredact", "--logs", "--redact-content") as (_, up):
        urls = published_urls(up.json)
        trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
        sent = requests.post(
            f"{urls['otlp-http']}/v1/logs", json=_genai_events("redact-app", trace_id, span_id), timeout=5
        )
        assert sent.status_code == 200, sent.text
        streams = _loki(urls, '{service_name="redact-app"}', expect=3)
        text = repr(streams)
        assert CONTENT not in text and ANSWER not in text, text
        labels = [stream["stream"] for stream in streams]
        assert {lab.get("gen_ai_request_model") for lab in labels} >= {"llama-3"}, labels  # what is not content stays
        assert all("gen_ai_input_messages" not in lab for lab in labels), labels
