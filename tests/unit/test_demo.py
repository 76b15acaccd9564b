"""The demo's synthetic telemetry: complete, plausible, deterministic, and sent over OTLP."""

from __future__ import annotations

import gzip
import importlib.util
import socket
import sys
import threading
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from telemetry_stack import catalog, demo
from telemetry_stack.errors import TelemetryError, UsageError

COUNT = 600


@pytest.fixture(scope="module")
def requests_() -> list[demo.DemoRequest]:
    return demo.generate_requests(COUNT, seed=3)


@pytest.fixture(scope="module")
def events(requests_) -> list[demo.MetricEvent]:
    return [e for r in requests_ for e in r.metrics]


def _values(events, inst, attribute) -> set:
    return {e.attributes[attribute] for e in events if e.instrument is inst and attribute in e.attributes}


# --- coverage ------------------------------------------------------------------------------


def test_warmup_alone_covers_every_instrument():
    warmup = demo.generate_requests(len(demo.WARMUP), seed=11)
    used = {e.instrument.name for r in warmup for e in r.metrics}
    assert used == {i.name for i in catalog.INSTRUMENTS}


def test_warmup_sends_every_kind_succeeding_and_failing():
    warmup = demo.generate_requests(len(demo.WARMUP), seed=0)
    seen = {(r.kind, r.failed) for r in warmup}
    assert seen == {(kind, failed) for kind in demo.WEIGHTS for failed in (False, True)}
    assert all(r.status_code == 500 for r in warmup if r.failed)


def test_every_instrument_gets_every_attribute(events):
    by_instrument: dict[str, set[str]] = defaultdict(set)
    for event in events:
        by_instrument[event.instrument.name].update(event.attributes)
    for inst in catalog.INSTRUMENTS:
        missing = set(inst.attributes) - by_instrument[inst.name]
        assert not missing, f"{inst.name} never gets {missing}"
    every_attribute = {a for i in catalog.INSTRUMENTS for a in i.attributes}
    assert every_attribute == {a for names in by_instrument.values() for a in names}


def test_attributes_are_only_catalog_attributes(events):
    for event in events:
        assert set(event.attributes) <= set(event.instrument.attributes), event
        assert event.instrument in catalog.INSTRUMENTS
        for value in event.attributes.values():
            assert isinstance(value, (str, int)) and not isinstance(value, bool), event
            assert str(value), event


def test_attribute_variety(events):
    inf = catalog.INFERENCE_DURATION
    assert len(_values(events, inf, "model")) >= 4
    assert len(_values(events, inf, "provider")) >= 4
    assert _values(events, inf, "stream") == {"true", "false"}
    assert _values(events, catalog.INFERENCE_TIME_TO_FIRST_TOKEN, "stream") == {"true"}, (
        "time to first token is for streaming only"
    )
    assert len(_values(events, catalog.TOOL_INVOCATIONS, "tool_group")) >= 3
    assert len(_values(events, catalog.TOOL_INVOCATIONS, "tool_name")) >= 4
    assert len(_values(events, catalog.TOOL_INVOCATIONS, "provider")) >= 3
    assert len(_values(events, catalog.VECTOR_QUERIES, "vector_db")) >= 3
    assert len(_values(events, catalog.VECTOR_INSERTS, "provider")) >= 3
    assert _values(events, catalog.VECTOR_RETRIEVAL_DURATION, "search_mode") == {"vector", "keyword", "hybrid"}
    # The operations the servers record (core/routers/vector_io.py of both wheels).
    assert _values(events, catalog.VECTOR_CHUNKS_PROCESSED, "operation") == {"chunks"}
    assert _values(events, catalog.VECTOR_INSERTS, "operation") == {"chunks", "attach"}
    assert _values(events, catalog.VECTOR_QUERIES, "operation") == {"query", "search"}
    assert _values(events, catalog.VECTOR_DELETES, "operation") == {"store", "file"}
    assert _values(events, catalog.VECTOR_STORES, "operation") == {"create"}
    assert _values(events, catalog.INFERENCE_MODEL_TYPE_USED, "type") == {"completion"}
    assert _values(events, catalog.RESPONSES_TOOL_TYPES_USED, "tool_type") == {"web_search", "file_search", "mcp"}
    assert len(_values(events, catalog.REQUESTS, "api")) >= 5
    assert len(_values(events, catalog.REQUESTS, "method")) >= 10
    codes = {int(c) for c in _values(events, catalog.REQUESTS, "status_code")}
    assert {200, 201, 500} <= codes and any(c >= 500 and c != 500 for c in codes)
    assert len(_values(events, catalog.RESPONSES_PARAMETER_USAGE, "operation")) >= 2
    assert len(_values(events, catalog.RESPONSES_PARAMETER_USAGE, "parameter")) >= 10
    assert _values(events, catalog.GEN_AI_TOKEN_USAGE, "gen_ai.token.type") == {"input", "output"}
    assert _values(events, catalog.GEN_AI_TOKEN_USAGE, "gen_ai.request.model") == _values(events, inf, "model")
    for inst in catalog.INSTRUMENTS:
        if inst in (catalog.INFERENCE_TOKENS_PER_SECOND, catalog.VECTOR_DOCUMENTS_RETRIEVED):
            # Throughput needs a finished completion; only successful queries retrieve documents.
            assert _values(events, inst, "status") == {"success"}
        elif inst is catalog.TOOL_DURATION:
            assert _values(events, inst, "status") == {"error"}, "the servers add status to failures only"
        elif "status" in inst.attributes:
            assert _values(events, inst, "status") == {"success", "error"}, inst.name


# --- plausible values ---------------------------------------------------------------------


def test_values_are_plausible(events):
    for event in events:
        inst, value = event.instrument, event.value
        if inst.kind == catalog.COUNTER:
            assert value >= 1 and value == int(value), event
        elif inst.kind == catalog.UPDOWNCOUNTER:
            assert value in (1, -1), event
        elif inst.unit == "s":
            assert 0 < value < 180, event
        elif inst.unit == "ms":
            assert 0 < value < 180_000, event
        elif inst is catalog.GEN_AI_TOKEN_USAGE:
            assert value == int(value) and 1 <= value <= 20_000, event
        elif inst is catalog.INFERENCE_TOKENS_PER_SECOND:
            assert 1 < value < 500, event
        else:
            raise AssertionError(f"no plausibility rule for {inst.name}")


def test_medians_look_like_an_llm_server(events):
    def median(inst, **attrs):
        values = sorted(
            e.value for e in events if e.instrument is inst and all(e.attributes.get(k) == v for k, v in attrs.items())
        )
        return values[len(values) // 2]

    assert 1 < median(catalog.INFERENCE_DURATION, status="success") < 15
    assert 0.05 < median(catalog.INFERENCE_TIME_TO_FIRST_TOKEN, status="success") < 2
    assert 10 < median(catalog.INFERENCE_TOKENS_PER_SECOND) < 150
    assert 0.05 < median(catalog.TOOL_DURATION) < 3
    assert 0.001 < median(catalog.VECTOR_RETRIEVAL_DURATION) < 0.5
    assert 100 < median(catalog.GEN_AI_TOKEN_USAGE, **{"gen_ai.token.type": "input"}) < 3000


def test_request_level_events_agree(requests_):
    for request in requests_:
        by_name = Counter(e.instrument.name for e in request.metrics)
        assert by_name[catalog.REQUESTS.name] == 1
        (total,) = [e for e in request.metrics if e.instrument is catalog.REQUESTS]
        assert total.attributes["status_code"] == str(request.status_code)
        assert total.attributes["status"] == ("error" if request.status_code >= 400 else "success")
        assert total.attributes["api"] == request.route.api
        (duration,) = [e for e in request.metrics if e.instrument is catalog.REQUEST_DURATION]
        assert duration.value == request.duration == request.span.duration
        (http_ms,) = [e for e in request.metrics if e.instrument is catalog.HTTP_SERVER_DURATION]
        assert http_ms.value == pytest.approx(request.duration * 1000)
        assert http_ms.attributes["http.status_code"] == request.status_code
        # Nothing inside a request takes longer than the request.
        for event in request.metrics:
            if event.instrument.unit == "s":
                assert event.value <= request.duration, event


def test_time_to_first_token_precedes_completion(requests_):
    for request in requests_:
        firsts = [e.value for e in request.metrics if e.instrument is catalog.INFERENCE_TIME_TO_FIRST_TOKEN]
        durations = [e.value for e in request.metrics if e.instrument is catalog.INFERENCE_DURATION]
        assert len(firsts) <= len(durations)
        if firsts:
            assert min(firsts) < max(durations)


def test_in_flight_levels_never_go_negative(requests_):
    generator = demo.EventGenerator(seed=5)
    levels: Counter = Counter()
    for _ in range(300):
        for event in generator.next_request().metrics:
            if event.instrument.kind == catalog.UPDOWNCOUNTER:
                key = (event.instrument.name, tuple(sorted(event.attributes.items())))
                levels[key] += event.value
                assert levels[key] >= 0, key
    for event in generator.drain():
        levels[(event.instrument.name, tuple(sorted(event.attributes.items())))] += event.value
    assert set(levels.values()) == {0}


def test_some_requests_fail(requests_):
    later = requests_[len(demo.WARMUP) :]
    share = sum(r.failed for r in later) / len(later)
    assert 0.02 < share < 0.15


def test_generator_is_deterministic():
    def signature(requests):
        return [
            (r.kind, r.status_code, [(e.instrument.name, e.value, dict(e.attributes)) for e in r.metrics])
            for r in requests
        ]

    assert signature(demo.generate_requests(80, seed=9)) == signature(demo.generate_requests(80, seed=9))
    assert signature(demo.generate_requests(80, seed=9)) != signature(demo.generate_requests(80, seed=10))


# --- traces -----------------------------------------------------------------------------------


def test_traces_are_shaped_like_llama_stack_requests(requests_):
    for request in requests_:
        root = request.span
        assert root.kind == "server" and root.start == 0
        assert root.name == f"{request.route.http_method} {request.route.path}"
        assert root.attributes["http.response.status_code"] == request.status_code
        assert (root.error is not None) == (request.status_code >= 500)
        for span in root.walk():
            assert span.kind in demo.SPAN_KINDS
            for child in span.children:
                assert span.start <= child.start and child.end <= span.end + 1e-9, (span, child)
        assert request.span_count == len(list(root.walk()))


def test_inference_spans_carry_genai_attributes(requests_):
    seen_tool_in_responses = seen_vector_under_tool = False
    for request in requests_:
        chats = [s for s in request.span.walk() if s.name.startswith("chat ")]
        tokens = [e.value for e in request.metrics if e.instrument is catalog.GEN_AI_TOKEN_USAGE]
        reported = []
        for span in chats:
            assert span.kind == "client"
            for key in ("gen_ai.system", "gen_ai.request.model", "gen_ai.operation.name"):
                assert span.attributes[key], key
            if span.error is None:
                reported += [
                    span.attributes["gen_ai.usage.input_tokens"],
                    span.attributes["gen_ai.usage.output_tokens"],
                ]
        assert sorted(reported) == sorted(tokens)
        if request.kind == "chat":
            assert len(chats) == 1
        for span in request.span.walk():
            if span.name.startswith("execute_tool"):
                seen_tool_in_responses |= request.kind == "responses"
                seen_vector_under_tool |= any(c.name.startswith("query_chunks") for c in span.children)
    assert seen_tool_in_responses and seen_vector_under_tool


# --- helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:4318", "http://127.0.0.1:4318"),
        ("http://127.0.0.1:4318/", "http://127.0.0.1:4318"),
        ("http://localhost:4318/v1/metrics", "http://localhost:4318"),
        (" https://collector.example:4318/v1/traces ", "https://collector.example:4318"),
    ],
)
def test_normalize_endpoint(given, expected):
    assert demo.normalize_endpoint(given) == expected


@pytest.mark.parametrize("bad", ["127.0.0.1:4318", "ftp://host:4318", "http://", "http://h:x"])
def test_normalize_endpoint_rejects(bad):
    with pytest.raises(UsageError):
        demo.normalize_endpoint(bad)


def test_dashboards_to_open():
    dashboards = demo.dashboards_to_open()
    assert [d["uid"] for d in dashboards][0] == "llama-stack-overview"
    assert len(dashboards) == 6
    assert all(d["path"] == f"/d/{d['uid']}/{d['uid']}" and d["title"] for d in dashboards)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration": 0},
        {"duration": -1},
        {"duration": float("inf")},
        {"rate": 0},
        {"rate": 10_000},
        {"service_name": " "},
    ],
)
def test_run_demo_rejects_bad_options(kwargs):
    with pytest.raises(UsageError):
        demo.run_demo("http://127.0.0.1:4318", **{"duration": 1, "rate": 1, **kwargs})


def test_missing_sdk_says_what_to_install(monkeypatch):
    module = "opentelemetry.exporter.otlp.proto.http.metric_exporter"
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail
    demo.otel._otel.cache_clear()  # an earlier test may have loaded the SDK already
    with pytest.raises(TelemetryError) as caught:
        demo.run_demo("http://127.0.0.1:4318", 1, 1, "x", None)
    assert "pip install 'llama-telemetry[demo]'" in caught.value.one_line()


# --- the SDK half ------------------------------------------------------------------------------


def _sdk_installed() -> bool:
    try:
        return all(
            importlib.util.find_spec(name) is not None
            for name in ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http")
        )
    except ImportError:
        return False


needs_sdk = pytest.mark.skipif(
    not _sdk_installed(), reason=f"OpenTelemetry SDK/exporter not installed ({demo.INSTALL_HINT})"
)


# The OpenTelemetry SDK's default explicit buckets, as its documentation lists them: what a histogram
# without explicit_bucket_boundaries_advisory gets, and so what OGX's inference durations get.
SDK_DEFAULT_BOUNDS = (0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000)
VECTOR_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)  # both wheels' vector_io_metrics.py


@needs_sdk
@pytest.mark.parametrize("server", catalog.SERVERS, ids=lambda s: s.key)
def test_sdk_records_each_servers_instruments_with_its_names_units_and_buckets(server):
    from opentelemetry.sdk.metrics.export import Histogram, InMemoryMetricReader, Sum

    reader = InMemoryMetricReader()
    provider = demo.make_meter_provider([reader])
    recorder = demo.MetricRecorder(provider, server)
    for request in demo.generate_requests(len(demo.WARMUP)):
        recorder.record_all(request.metrics)
    scopes = {
        m.name: sm.scope.name
        for rm in reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    metrics = {
        m.name: m for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }
    provider.shutdown()
    assert set(metrics) == {i.otel_name(server) for i in catalog.INSTRUMENTS if i.defined_by(server)}
    prefix = {"ogx": "ogx.", "llama-stack": "llama_stack."}[server.key]
    assert metrics.keys() >= {
        prefix + "inference.duration_seconds",
        prefix + "requests_total",
        "gen_ai.client.token.usage",
    }
    assert scopes[prefix + "requests_total"] == prefix + "server"
    assert scopes[prefix + "vector_io.inserts_total"] == prefix + "vector_io"
    bounds = {
        prefix + "inference.duration_seconds": SDK_DEFAULT_BOUNDS,
        prefix + "request_duration_seconds": SDK_DEFAULT_BOUNDS,
        prefix + "tool_runtime.duration_seconds": SDK_DEFAULT_BOUNDS,
        prefix + "vector_io.retrieval_duration_seconds": VECTOR_BOUNDS,
        prefix + "vector_io.insert_duration_seconds": VECTOR_BOUNDS,
    }
    for name, expected in bounds.items():
        assert tuple(metrics[name].data.data_points[0].explicit_bounds) == expected, name
    for inst in catalog.INSTRUMENTS:
        if not inst.defined_by(server):
            continue
        metric = metrics[inst.otel_name(server)]
        assert metric.unit == inst.unit
        if inst.kind == catalog.HISTOGRAM:
            assert isinstance(metric.data, Histogram)
        else:
            assert isinstance(metric.data, Sum)
            assert metric.data.is_monotonic == (inst.kind == catalog.COUNTER)


class _OtlpReceiver:
    """A stand-in for the collector's OTLP/HTTP receiver that decodes what it gets."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest,
        )
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        self.metrics: list = []
        self.traces: list = []
        receiver = self
        kinds = {
            "/v1/metrics": (ExportMetricsServiceRequest, self.metrics),
            "/v1/traces": (ExportTraceServiceRequest, self.traces),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                if self.path not in kinds:
                    self.send_error(404)
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                message_type, store = kinds[self.path]
                message = message_type()
                message.ParseFromString(body)
                with receiver.lock:
                    store.append(message)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@needs_sdk
@pytest.mark.slow
@pytest.mark.parametrize("server", catalog.SERVERS, ids=lambda s: s.key)
def test_run_demo_sends_metrics_and_traces_over_otlp(server):
    receiver = _OtlpReceiver()
    updates: list[dict] = []
    try:
        summary = demo.run_demo(receiver.url + "/", 2.5, 20, "demo-under-test", updates.append, seed=1, server=server)
    finally:
        receiver.close()

    assert summary["endpoint"] == receiver.url
    assert summary["service_name"] == "demo-under-test"
    assert 35 <= summary["requests"] <= 52
    assert summary["errors"] >= len(demo.WARMUP) // 2
    assert summary["spans"] > summary["requests"] * 2
    assert summary["export_errors"] == 0, summary["last_export_error"]
    assert 2.5 <= summary["duration"] < 15  # it ran its duration, and stopped (15 s: room for a loaded machine)
    assert [d["uid"] for d in summary["dashboards"]] == [d["uid"] for d in demo.dashboards_to_open()]
    assert updates and updates[-1]["done"] and updates[-1]["requests"] == summary["requests"]
    assert all(not u["done"] for u in updates[:-1])

    names = set()
    services = set()
    for request in receiver.metrics:
        for rm in request.resource_metrics:
            services |= {a.value.string_value for a in rm.resource.attributes if a.key == "service.name"}
            names |= {m.name for sm in rm.scope_metrics for m in sm.metrics}
    assert names == {i.otel_name(server) for i in catalog.INSTRUMENTS if i.defined_by(server)}
    assert services == {"demo-under-test"}
    assert summary["naming"] == server.key

    spans = [
        s for request in receiver.traces for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans
    ]
    assert len(spans) == summary["spans"]
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if not s.parent_span_id]
    assert len(roots) == summary["requests"]
    assert all(s.parent_span_id in ids for s in spans if s.parent_span_id)
    chat = [s for s in spans if s.name.startswith("chat ")]
    assert chat
    keys = {a.key for s in chat for a in s.attributes}
    assert {"gen_ai.system", "gen_ai.request.model", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"} <= keys
    assert all(s.end_time_unix_nano >= s.start_time_unix_nano for s in spans)


@needs_sdk
def test_run_demo_fails_fast_when_nothing_listens():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TelemetryError) as caught:
        demo.run_demo(f"http://127.0.0.1:{port}", 5, 5, "x", None)
    assert "llama-telemetry up" in caught.value.one_line()
