"""`verify` against a small stand-in of the whole stack: each step passes only when what it sent really arrived,
fails alone when its part of the stack is broken, and says which step failed."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from telemetry_stack.results import ServiceReport, StackReport
from telemetry_stack.verify import verify_stack


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    """A broken part makes its step wait for verify's deadline: poll every 10 ms, so a 0.1 s deadline is 10 tries."""
    from telemetry_stack import verify

    monkeypatch.setattr(verify, "POLL_INTERVAL", 0.01)


STEPS = [
    "send a span over OTLP/HTTP",
    "find it in Jaeger",
    "send a metric over OTLP/HTTP",
    "find it in Prometheus",
    "check Grafana's datasources",
]
PASSWORD = "s3cret"
AUTH = "Basic YWRtaW46czNjcmV0"  # admin:s3cret


class Stack:
    """Collector, Jaeger, Prometheus and Grafana on one port, with a switch to break each."""

    def __init__(self, logs: bool = False) -> None:
        self.logs: list[tuple[str, str]] = [("llama-telemetry-verify-0ld", "llama-telemetry verify 0ld5amp1e0000000")]
        self.datasources_asked: set[str] = set()
        self.traces: set[str] = set()
        self.tokens: set[str] = {"0ld5amp1e0000000"}  # a sample an earlier verify left behind
        self.broken: set[str] = set()
        self.metric_names: set[str] = set()
        stack = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, code: int, body: dict | None = None) -> None:
                raw = json.dumps(body).encode() if body is not None else b""
                self.send_response(code)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self):  # noqa: N802 - the collector's OTLP/HTTP receiver
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if "collector" in stack.broken:
                    return self._answer(503)
                for rl in body.get("resourceLogs", []):
                    (service,) = [a["value"]["stringValue"] for a in rl["resource"]["attributes"]]
                    for sl in rl["scopeLogs"]:
                        stack.logs += [(service, r["body"]["stringValue"]) for r in sl["logRecords"]]
                for rs in body.get("resourceSpans", []):
                    stack.traces |= {s["traceId"] for ss in rs["scopeSpans"] for s in ss["spans"]}
                for rm in body.get("resourceMetrics", []):
                    for sm in rm["scopeMetrics"]:
                        for metric in sm["metrics"]:
                            stack.metric_names.add(metric["name"])
                            for point in metric["gauge"]["dataPoints"]:
                                stack.tokens |= {
                                    a["value"]["stringValue"] for a in point["attributes"] if a["key"] == "verify_id"
                                }
                self._answer(200, {})

            def do_GET(self):  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                if url.path.startswith("/api/traces/"):  # Jaeger's query API
                    found = url.path.rsplit("/", 1)[1] in stack.traces and "jaeger" not in stack.broken
                    return self._answer(200, {"data": [{"traceID": "x"}] if found else []})  # 200 either way
                if url.path == "/api/v1/query":  # Prometheus: the collector prefixes a metric with ogx_
                    query = urllib.parse.parse_qs(url.query)["query"][0]
                    match = re.fullmatch(r'ogx_(\w+)\{verify_id="(\w+)"\}', query)
                    hit = (
                        match
                        and match.group(1) in stack.metric_names
                        and match.group(2) in stack.tokens
                        and "prometheus" not in stack.broken
                    )
                    return self._answer(
                        200, {"status": "success", "data": {"result": [{"value": [0, "1"]}] if hit else []}}
                    )
                if url.path == "/loki/api/v1/query_range":  # Loki: service.name is the stream label service_name
                    query = urllib.parse.parse_qs(url.query)["query"][0]
                    match = re.fullmatch(r'\{service_name="([\w-]+)"\} \|= "(\w+)"', query)
                    lines = [
                        line
                        for service, line in stack.logs
                        if match and service == match.group(1) and match.group(2) in line and "loki" not in stack.broken
                    ]
                    result = (
                        [{"stream": {"service_name": "x"}, "values": [["1", line] for line in lines]}] if lines else []
                    )
                    return self._answer(200, {"status": "success", "data": {"resultType": "streams", "result": result}})
                if url.path.startswith("/api/datasources/uid/"):  # Grafana, behind its admin login
                    stack.datasources_asked.add(url.path.split("/")[4])
                    if self.headers.get("Authorization") != AUTH:
                        return self._answer(401, {"message": "invalid username or password"})
                    if "grafana-jaeger" in stack.broken and "jaeger" in url.path:
                        return self._answer(400, {"status": "ERROR", "message": "connection refused"})
                    if "grafana-prometheus-says-error" in stack.broken and "prometheus" in url.path:
                        return self._answer(200, {"status": "ERROR", "message": "bad gateway"})  # an answer, not OK
                    return self._answer(200, {"status": "OK"})
                self._answer(404)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        urls = {"otlp-http": base, "jaeger": base, "prometheus": base, "grafana": base}
        if logs:
            urls["loki"] = base
        self.report = StackReport(
            "docker",
            "unix://",
            "default",
            "llama-telemetry",
            [ServiceReport("all", "all", "running", True, urls)],
            None,
            {},
        )


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, text: str) -> None:
        self.lines.append(text)


@pytest.fixture
def stack():
    world = Stack()
    yield world
    world.server.shutdown()
    world.server.server_close()


def _verify(stack: Stack, password: str = PASSWORD, timeout: float = 0.1) -> dict:
    return verify_stack(stack.report, password, timeout, Lines()).to_json()


def _outcome(report: dict) -> dict[str, bool]:
    return {step["step"]: step["ok"] for step in report["steps"]}


def test_a_healthy_stack_passes_every_step_in_order(stack):
    report = _verify(stack)
    assert report["ok"] is True
    assert [s["step"] for s in report["steps"]] == STEPS and all(s["ok"] for s in report["steps"])
    assert report["service_name"].startswith("llama-telemetry-verify-")
    assert stack.metric_names == {"telemetry_verify"}


def test_a_collector_that_refuses_fails_the_first_step_and_stops_there(stack):
    stack.broken.add("collector")
    report = _verify(stack)
    assert report["ok"] is False
    assert _outcome(report) == {STEPS[0]: False}  # nothing downstream to look for
    assert "collector answered HTTP 503" in report["steps"][0]["detail"]


@pytest.mark.parametrize(
    ("part", "failing"),
    [
        ("jaeger", STEPS[1]),
        ("prometheus", STEPS[3]),
        ("grafana-jaeger", STEPS[4]),
        ("grafana-prometheus-says-error", STEPS[4]),
    ],
)
def test_each_broken_part_fails_its_step_alone(stack, part, failing):
    stack.broken.add(part)
    report = _verify(stack)
    assert report["ok"] is False
    assert _outcome(report) == {step: step != failing for step in STEPS}


def test_an_old_sample_does_not_pass_for_the_new_one(stack):
    """Prometheus holds an earlier run's sample: only this run's token counts."""
    stack.broken.add("prometheus")  # the new sample never arrives; the old one is still there
    assert stack.tokens == {"0ld5amp1e0000000"}
    report = _verify(stack)
    assert _outcome(report)[STEPS[3]] is False
    assert report["steps"][3]["detail"].startswith("not seen in time")


def test_a_datasource_health_failure_names_the_datasource(stack):
    stack.broken.add("grafana-jaeger")
    detail = _verify(stack)["steps"][4]["detail"]
    assert detail.startswith("not seen in time") and "jaeger datasource: HTTP 400 connection refused" in detail


def test_a_refused_login_fails_at_once_and_says_how_to_fix_it(stack):
    started = time.monotonic()
    report = _verify(stack, password="wrong", timeout=10)
    assert time.monotonic() - started < 5, "a refused login is not worth waiting for"
    assert _outcome(report) == {step: step != STEPS[4] for step in STEPS}
    assert "--grafana-password" in report["steps"][4]["detail"]


def test_with_loki_a_log_record_must_arrive_too():
    stack = Stack(logs=True)
    report = _verify(stack)
    assert report["ok"] is True
    assert [s["step"] for s in report["steps"]] == [
        *STEPS[:4],
        "send a log record over OTLP/HTTP",
        "find it in Loki",
        STEPS[4],
    ]
    assert stack.datasources_asked == {"llama-telemetry-prometheus", "llama-telemetry-jaeger", "llama-telemetry-loki"}


def test_a_loki_that_loses_the_record_fails_that_step_alone():
    stack = Stack(logs=True)
    stack.broken.add("loki")
    report = _verify(stack)
    assert report["ok"] is False
    assert {s["step"]: s["ok"] for s in report["steps"]} == {
        **dict.fromkeys(STEPS, True),
        "send a log record over OTLP/HTTP": True,
        "find it in Loki": False,
    }


def test_without_loki_its_datasource_is_not_asked_for():
    stack = Stack()
    assert _verify(stack)["ok"] is True
    assert stack.datasources_asked == {"llama-telemetry-prometheus", "llama-telemetry-jaeger"}
