"""`verify`'s steps, decided without waiting: a fake clock makes every deadline pass at once and fixed random bytes
make every id known, so what verify sends, what counts as found, what is retried, what fails at once and where it
stops are checked against literal values in milliseconds (tests/unit/test_verify.py runs a stack of fake services
for real, with short real deadlines)."""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from telemetry_stack import verify
from telemetry_stack.results import ServiceReport, StackReport, VerifyResult

SERVICE_NAME = "llama-telemetry-verify-0001020304050607"  # os.urandom gives 00 01 02 ... below
TOKEN = "0001020304050607"
TRACE_ID = "000102030405060708090a0b0c0d0e0f"
NOW_NS = 1_750_000_000_123_456_789
AUTH = "Basic YWRtaW46czNjcmV0"  # admin:s3cret
QUERY = 'ogx_telemetry_verify{verify_id="0001020304050607"}'
STEPS = [
    "send a span over OTLP/HTTP",
    "find it in Jaeger",
    "send a metric over OTLP/HTTP",
    "find it in Prometheus",
    "check Grafana's datasources",
]


class Clock:
    """verify's `time`: monotonic() moves only when verify sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def time_ns(self) -> int:
        return NOW_NS


class World:
    """Collector, Jaeger, Prometheus and Grafana behind one port; `answers` scripts what each one says."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict, bytes]] = []  # method, path, headers, body
        # How many lookups miss before Jaeger (Prometheus) finds what was sent; None: never.
        self.misses = {"jaeger": 0, "prometheus": 0, "loki": 0}
        self.collector_status = {"traces": 200, "metrics": 200, "logs": 200}
        self.answer: dict[str, bytes] = {}  # "prometheus" or "loki" -> what it says instead of the scripted answer
        self.grafana: dict[str, tuple[int, bytes]] = {}  # datasource uid -> (status, body), default OK
        world = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: bytes = b"") -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _record(self) -> str:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                world.requests.append((self.command, self.path, dict(self.headers), body))
                return urllib.parse.urlsplit(self.path).path

            def do_POST(self):  # noqa: N802
                path = self._record()
                self._answer(world.collector_status[path.rsplit("/", 1)[1]], b"{}")

            def do_GET(self):  # noqa: N802
                path = self._record()
                if path.startswith("/api/traces/"):
                    found = world._found("jaeger") and path == f"/api/traces/{TRACE_ID}"
                    return self._answer(200, json.dumps({"data": [{"traceID": TRACE_ID}] if found else []}).encode())
                if path == "/api/v1/query" and "prometheus" in world.answer:
                    return self._answer(200, world.answer["prometheus"])
                if path == "/loki/api/v1/query_range" and "loki" in world.answer:
                    return self._answer(200, world.answer["loki"])
                if path == "/loki/api/v1/query_range":
                    found = world._found("loki")
                    result = [{"stream": {"service_name": SERVICE_NAME}, "values": [["1", "x"]]}] if found else []
                    return self._answer(200, json.dumps({"status": "success", "data": {"result": result}}).encode())
                if path == "/api/v1/query":
                    found = world._found("prometheus")
                    result = [{"metric": {}, "value": [1, "1"]}] if found else []
                    return self._answer(200, json.dumps({"status": "success", "data": {"result": result}}).encode())
                if path.startswith("/api/datasources/uid/"):
                    uid = path.split("/")[4]
                    if self.headers.get("Authorization") != AUTH:
                        return self._answer(401, b'{"message": "invalid username or password"}')
                    return self._answer(*world.grafana.get(uid, (200, b'{"status": "OK", "message": "fine"}')))
                self._answer(404)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _found(self, service: str) -> bool:
        if self.misses[service] is None:
            return False
        self.misses[service] -= 1
        return self.misses[service] < 0

    def report(self, **overrides: str) -> StackReport:
        urls = {"otlp-http": self.base, "jaeger": self.base, "prometheus": self.base, "grafana": self.base}
        urls.update(overrides)
        return StackReport(
            "docker",
            "unix://",
            "default",
            "llama-telemetry",
            [ServiceReport("all", "all", "running", True, urls)],
            None,
            {},
        )

    def sent(self, path: str) -> dict:
        (body,) = [json.loads(b) for method, p, _, b in self.requests if method == "POST" and p == path]
        return body

    def asked(self, prefix: str) -> list[tuple[str, dict]]:
        return [(p, h) for method, p, h, _ in self.requests if method == "GET" and p.startswith(prefix)]


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, text: str) -> None:
        self.lines.append(text)


@pytest.fixture
def world():
    stand_in = World()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(verify, "time", fake)
    monkeypatch.setattr(verify, "os", SimpleNamespace(urandom=lambda n: bytes(range(n))))
    return fake


def _run(world: World, password: str = "s3cret", timeout: float = 1.0, **urls: str) -> tuple[dict, list[str]]:
    lines = Lines()
    result = verify.verify_stack(world.report(**urls), password, timeout, lines)
    return result.to_json(), lines.lines


def _outcome(report: dict) -> list[tuple[str, bool]]:
    return [(step["step"], step["ok"]) for step in report["steps"]]


def test_a_healthy_stack_passes_every_step_and_says_what_it_found(world, clock):
    report, lines = _run(world)
    assert report == {
        "schema_version": 1,
        "ok": True,
        "service_name": SERVICE_NAME,
        "steps": [
            {"step": STEPS[0], "ok": True, "seconds": 0.0, "detail": f"trace {TRACE_ID} accepted by the collector"},
            {"step": STEPS[1], "ok": True, "seconds": 0.0, "detail": f"trace {TRACE_ID} found in Jaeger"},
            {
                "step": STEPS[2],
                "ok": True,
                "seconds": 0.0,
                "detail": "metric telemetry_verify accepted by the collector",
            },
            {"step": STEPS[3], "ok": True, "seconds": 0.0, "detail": f"{QUERY} found in Prometheus"},
            {
                "step": STEPS[4],
                "ok": True,
                "seconds": 0.0,
                "detail": "datasources prometheus, jaeger answer through Grafana",
            },
        ],
    }
    assert lines == [
        f"ok   send a span over OTLP/HTTP           0 ms  trace {TRACE_ID} accepted by the collector",
        f"ok   find it in Jaeger                    0 ms  trace {TRACE_ID} found in Jaeger",
        "ok   send a metric over OTLP/HTTP         0 ms  metric telemetry_verify accepted by the collector",
        f"ok   find it in Prometheus                0 ms  {QUERY} found in Prometheus",
        "ok   check Grafana's datasources          0 ms  datasources prometheus, jaeger answer through Grafana",
    ]
    assert clock.slept == []


def test_the_span_and_the_metric_are_otlp_json_under_the_verify_service_name(world, clock):
    _run(world)
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": SERVICE_NAME}}]}
    span = {
        "traceId": TRACE_ID,
        "spanId": "0001020304050607",
        "name": "llama-telemetry verify",
        "kind": 2,
        "startTimeUnixNano": "1750000000123456789",
        "endTimeUnixNano": "1750000000124456789",  # a millisecond later
    }
    assert world.sent("/v1/traces") == {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}
    point = {
        "asDouble": 1.0,
        "timeUnixNano": "1750000000123456789",
        "attributes": [{"key": "verify_id", "value": {"stringValue": TOKEN}}],
    }
    metric = {"name": "telemetry_verify", "gauge": {"dataPoints": [point]}}
    assert world.sent("/v1/metrics") == {
        "resourceMetrics": [{"resource": resource, "scopeMetrics": [{"metrics": [metric]}]}]
    }
    posts = [(p, h) for method, p, h, _ in world.requests if method == "POST"]
    assert [p for p, _ in posts] == ["/v1/traces", "/v1/metrics"]
    assert all(h["Content-Type"] == "application/json" for _, h in posts)


def test_jaeger_prometheus_and_grafana_are_asked_with_the_sent_ids_and_the_admin_login(world, clock):
    _run(world)
    assert [p for p, _ in world.asked("/api/traces/")] == [f"/api/traces/{TRACE_ID}"]
    assert [p for p, _ in world.asked("/api/v1/query")] == [
        "/api/v1/query?query=ogx_telemetry_verify%7Bverify_id%3D%220001020304050607%22%7D"
    ]
    grafana = world.asked("/api/datasources/")
    assert [p for p, _ in grafana] == [
        "/api/datasources/uid/llama-telemetry-prometheus/health",
        "/api/datasources/uid/llama-telemetry-jaeger/health",
    ]
    assert all(h["Authorization"] == AUTH for _, h in grafana)
    assert all("Authorization" not in h for _, h in world.asked("/api/traces/") + world.asked("/api/v1/query"))


def test_a_lookup_is_repeated_every_fifth_of_a_second_until_it_finds(world, clock):
    world.misses["jaeger"] = 3
    report, _ = _run(world, timeout=10)
    assert report["ok"] is True
    assert clock.slept == [0.2, 0.2, 0.2]
    assert report["steps"][1]["seconds"] == pytest.approx(0.6)
    assert len(world.asked("/api/traces/")) == 4


def test_a_trace_never_found_fails_its_step_after_the_deadline_and_the_metric_steps_still_run(world, clock):
    world.misses["jaeger"] = None
    report, lines = _run(world, timeout=1.0)
    assert _outcome(report) == [
        (STEPS[0], True),
        (STEPS[1], False),
        (STEPS[2], True),
        (STEPS[3], True),
        (STEPS[4], True),
    ]
    assert report["ok"] is False
    assert [s["seconds"] for s in report["steps"]] == [0.0, 1.2, 0.0, 0.0, 0.0]  # each step timed on its own
    step = report["steps"][1]
    assert step["detail"] == "not seen in time (no answer yet)"
    assert 1.0 < step["seconds"] <= 1.2  # it gave up on the first look after the deadline
    assert lines[1] == "FAIL find it in Jaeger                 1200 ms  not seen in time (no answer yet)"


def test_an_unreachable_service_is_named_with_the_error_in_the_failure(world, clock):
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{closed.server_address[1]}"
    closed.server_close()  # nothing listens there now: connection refused
    report, _ = _run(world, prometheus=url)
    detail = report["steps"][3]["detail"]
    assert detail.startswith(f"not seen in time ({url}/api/v1/query?query=ogx_telemetry_verify")
    assert "Connection refused" in detail and detail.endswith(")")
    assert report["steps"][3]["ok"] is False and report["steps"][4]["ok"] is True


@pytest.mark.parametrize(("signal", "failing"), [("traces", STEPS[0]), ("metrics", STEPS[2])])
def test_a_collector_that_refuses_fails_the_send_and_nothing_downstream_is_looked_for(world, clock, signal, failing):
    world.collector_status[signal] = 503
    report, lines = _run(world)
    assert report["steps"][-1] == {
        "step": failing,
        "ok": False,
        "seconds": 0.0,
        "detail": "collector answered HTTP 503",
    }
    assert [s["step"] for s in report["steps"]] == STEPS[: STEPS.index(failing) + 1]
    assert report["ok"] is False and len(lines) == len(report["steps"])
    assert lines[-1].startswith(f"FAIL {failing}")


def test_a_refused_grafana_login_fails_at_once_without_retrying(world, clock):
    report, _ = _run(world, password="wrong", timeout=10)
    assert report["steps"][4] == {
        "step": STEPS[4],
        "ok": False,
        "seconds": 0.0,
        "detail": "Grafana refused the admin login (pass the password with --grafana-password)",
    }
    assert clock.slept == [] and len(world.asked("/api/datasources/")) == 1


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (
            (400, b'{"status": "ERROR", "message": "connection refused"}'),
            "jaeger datasource: HTTP 400 connection refused",
        ),
        ((200, b'{"status": "ERROR", "message": "bad gateway"}'), "jaeger datasource: HTTP 200 bad gateway"),
        ((500, b"not json"), "jaeger datasource: HTTP 500"),
    ],
)
def test_a_datasource_that_is_not_ok_fails_the_grafana_step_and_names_it(world, clock, answer, detail):
    world.grafana["llama-telemetry-jaeger"] = answer
    report, _ = _run(world)
    assert report["steps"][4]["ok"] is False
    assert report["steps"][4]["detail"] == f"not seen in time ({detail})"


def test_an_answer_that_is_not_json_counts_as_not_found(world, clock, monkeypatch):
    answers = iter([(200, None), (200, {"data": []}), (200, {"data": [{"traceID": TRACE_ID}]})])
    real = verify._http
    monkeypatch.setattr(
        verify,
        "_http",
        lambda method, url, *a, **k: next(answers) if "/api/traces/" in url else real(method, url, *a, **k),
    )
    report, _ = _run(world, timeout=10)
    assert report["steps"][1]["ok"] is True and clock.slept == [0.2, 0.2]


def test_http_reads_status_and_json_and_tolerates_bodies_that_are_not_json(world):
    assert verify._http("GET", f"{world.base}/api/v1/query?query=x") == (
        200,
        {"status": "success", "data": {"result": [{"metric": {}, "value": [1, "1"]}]}},
    )
    assert verify._http("GET", f"{world.base}/nowhere") == (404, None)  # an error status with an empty body
    world.grafana["x"] = (502, b"<html>bad gateway</html>")
    assert verify._http("GET", f"{world.base}/api/datasources/uid/x/health", auth=("admin", "s3cret")) == (502, None)
    with pytest.raises(verify._Failed, match=r"^http://127\.0\.0\.1:1/x: .*Connection refused"):
        verify._http("GET", "http://127.0.0.1:1/x")  # port 1: nothing listens


def test_a_verify_without_steps_is_not_ok():
    assert VerifyResult("x", []).ok is False


def test_step_times_are_reported_in_milliseconds(world, clock, monkeypatch):
    monkeypatch.setattr(clock, "sleep", lambda seconds: setattr(clock, "now", clock.now + seconds + 0.00037))
    world.misses["prometheus"] = 3
    report, lines = _run(world, timeout=10)
    assert report["steps"][3]["seconds"] == 0.601  # three polls of 0.20037 s
    assert lines[3] == f"ok   find it in Prometheus              601 ms  {QUERY} found in Prometheus"


@pytest.mark.parametrize(("service", "step"), [("prometheus", 3), ("loki", 5)])
def test_an_answer_without_data_counts_as_not_found(world, clock, service, step):
    world.answer[service] = b'{"status": "error", "errorType": "bad_data"}'
    report, _ = _run(world, loki=world.base)
    assert report["steps"][step] == {
        "step": ["find it in Prometheus", "find it in Loki"][step == 5],
        "ok": False,
        "seconds": 1.2,
        "detail": "not seen in time (no answer yet)",
    }


def test_a_service_that_never_answers_does_not_hang_verify(monkeypatch):
    monkeypatch.setattr(verify, "REQUEST_TIMEOUT", 0.1)
    silent = socket.create_server(("127.0.0.1", 0))  # accepts connections (the backlog), never answers
    outcome: list[BaseException] = []

    def ask() -> None:
        try:
            verify._http("GET", f"http://127.0.0.1:{silent.getsockname()[1]}/api/v1/query")
        except BaseException as exc:  # noqa: BLE001 - the outcome is the test's to judge
            outcome.append(exc)

    asking = threading.Thread(target=ask, daemon=True)
    try:
        asking.start()
        asking.join(10)  # a safety net only: with the 0.1 s timeout this takes about 0.1 s
        assert not asking.is_alive(), "verify waited for an answer that never comes"
        assert isinstance(outcome[0], verify._Failed) and "timed out" in str(outcome[0])
    finally:
        silent.close()


LOKI_QUERY = '{service_name="llama-telemetry-verify-0001020304050607"} |= "0001020304050607"'


def test_with_loki_a_log_record_is_sent_and_found_before_the_datasources_are_checked(world, clock):
    report, lines = _run(world, loki=world.base)
    assert report["ok"] is True
    assert [(s["step"], s["detail"]) for s in report["steps"][4:]] == [
        ("send a log record over OTLP/HTTP", "log record accepted by the collector"),
        ("find it in Loki", f"{LOKI_QUERY} found in Loki"),
        ("check Grafana's datasources", "datasources prometheus, jaeger, loki answer through Grafana"),
    ]
    record = {
        "timeUnixNano": "1750000000123456789",
        "severityText": "INFO",
        "body": {"stringValue": "llama-telemetry verify 0001020304050607"},
        "traceId": TRACE_ID,
        "spanId": "0001020304050607",
    }
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": SERVICE_NAME}}]}
    assert world.sent("/v1/logs") == {"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": [record]}]}]}
    (asked,) = [p for p, _ in world.asked("/loki/api/v1/query_range")]
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(asked).query) == {
        "query": [LOKI_QUERY],
        "start": ["1749999700123456789"],  # five minutes before verify started
        "limit": ["10"],
    }
    assert "/api/datasources/uid/llama-telemetry-loki/health" in [p for p, _ in world.asked("/api/datasources/")]


def test_a_log_record_loki_never_shows_fails_that_step_alone(world, clock):
    world.misses["loki"] = None
    report, _ = _run(world, loki=world.base)
    assert [s["ok"] for s in report["steps"]] == [True, True, True, True, True, False, True]
    assert report["steps"][5]["detail"] == "not seen in time (no answer yet)"


def test_a_collector_refusing_logs_stops_before_loki_is_asked(world, clock):
    world.collector_status["logs"] = 503
    report, _ = _run(world, loki=world.base)
    assert report["steps"][-1] == {
        "step": "send a log record over OTLP/HTTP",
        "ok": False,
        "seconds": 0.0,
        "detail": "collector answered HTTP 503",
    }
    assert world.asked("/loki/") == [] and world.asked("/api/datasources/") == []
