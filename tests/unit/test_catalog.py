"""The catalog derives Prometheus series names exactly as our collector exports them."""

from __future__ import annotations

import re

import pytest

from telemetry_stack import catalog
from telemetry_stack.catalog import (
    COUNTER,
    HISTOGRAM,
    UPDOWNCOUNTER,
    Instrument,
    label_name,
    prometheus_name,
)

# Verbatim from each server's documentation (OGX's telemetry guide; Llama Stack's telemetry docs).
DOCUMENTED_QUERIES = {
    "ogx": (
        'sum by(gen_ai_request_model) (ogx_gen_ai_client_token_usage_sum{gen_ai_token_type="input"})',
        'sum by(gen_ai_request_model) (ogx_gen_ai_client_token_usage_sum{gen_ai_token_type="output"})',
        "histogram_quantile(0.95, rate(ogx_http_server_duration_milliseconds_bucket[5m]))",
        "sum(ogx_http_server_duration_milliseconds_count)",
        "histogram_quantile(0.99, rate(ogx_inference_duration_seconds_bucket[5m]))",
        "histogram_quantile(0.95, rate(ogx_inference_time_to_first_token_seconds_bucket[5m]))",
        "histogram_quantile(0.5, rate(ogx_inference_tokens_per_second_bucket[5m]))",
        'rate(ogx_tool_runtime_invocations_total{status="error"}[5m])',
    ),
    "llama-stack": (
        'sum by(gen_ai_request_model) (llama_stack_gen_ai_client_token_usage_sum{gen_ai_token_type="input"})',
        'sum by(gen_ai_request_model) (llama_stack_gen_ai_client_token_usage_sum{gen_ai_token_type="output"})',
        "histogram_quantile(0.95, rate(llama_stack_http_server_duration_milliseconds_bucket[5m]))",
        "histogram_quantile(0.99, rate(llama_stack_inference_duration_seconds_bucket[5m]))",
        "rate(llama_stack_tool_runtime_invocations_total[5m])",
        "rate(llama_stack_vector_io_inserts_total[5m])",
    ),
}

METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
OGX, LS = catalog.OGX, catalog.LLAMA_STACK


def test_documented_queries_are_the_documentation_verbatim():
    assert catalog.DOCUMENTED_QUERIES == DOCUMENTED_QUERIES


@pytest.mark.parametrize("server", catalog.SERVERS, ids=lambda s: s.key)
def test_documented_queries_name_only_series_of_that_server(server):
    known = catalog.all_series_names(server)
    for query in DOCUMENTED_QUERIES[server.key]:
        names = set(re.findall(r"\b(?:ogx|llama_stack)_[a-z0-9_]+", query))
        assert names and names <= known, (query, names - known)


@pytest.mark.parametrize(
    ("instrument", "ogx", "llama_stack"),
    [
        (catalog.GEN_AI_TOKEN_USAGE, "ogx_gen_ai_client_token_usage", "llama_stack_gen_ai_client_token_usage"),
        (
            catalog.HTTP_SERVER_DURATION,
            "ogx_http_server_duration_milliseconds",
            "llama_stack_http_server_duration_milliseconds",
        ),
        (catalog.INFERENCE_DURATION, "ogx_inference_duration_seconds", "llama_stack_inference_duration_seconds"),
        (
            catalog.HTTP_SERVER_REQUEST_DURATION,
            "ogx_http_server_request_duration_seconds",
            "llama_stack_http_server_request_duration_seconds",
        ),
        (
            catalog.INFERENCE_TOKENS_PER_SECOND,
            "ogx_inference_tokens_per_second",
            "llama_stack_inference_tokens_per_second",
        ),
        (
            catalog.VECTOR_RETRIEVAL_DURATION,
            "ogx_vector_io_retrieval_duration_seconds",
            "llama_stack_vector_io_retrieval_duration_seconds",
        ),
        (catalog.REQUEST_DURATION, "ogx_request_duration_seconds", "llama_stack_request_duration_seconds"),
    ],
)
def test_histogram_series(instrument, ogx, llama_stack):
    assert instrument.series_names(OGX) == (f"{ogx}_bucket", f"{ogx}_sum", f"{ogx}_count")
    assert instrument.series_names(LS) == (f"{llama_stack}_bucket", f"{llama_stack}_sum", f"{llama_stack}_count")


@pytest.mark.parametrize(
    ("instrument", "ogx", "llama_stack"),
    [
        (catalog.TOOL_INVOCATIONS, "ogx_tool_runtime_invocations_total", "llama_stack_tool_runtime_invocations_total"),
        (catalog.VECTOR_INSERTS, "ogx_vector_io_inserts_total", "llama_stack_vector_io_inserts_total"),
        (catalog.REQUESTS, "ogx_requests_total", "llama_stack_requests_total"),
        (catalog.CONCURRENT_REQUESTS, "ogx_concurrent_requests", "llama_stack_concurrent_requests"),
        (
            catalog.HTTP_SERVER_ACTIVE_REQUESTS,
            "ogx_http_server_active_requests",
            "llama_stack_http_server_active_requests",
        ),
        (catalog.RESPONSES_AGENTIC_CALLS, "ogx_responses_agentic_calls_total", None),
        (catalog.VECTOR_DOCUMENTS_RETRIEVED, "ogx_vector_io_documents_retrieved_total", None),
    ],
)
def test_counter_and_gauge_series(instrument, ogx, llama_stack):
    assert instrument.series_names(OGX) == (ogx,)
    if llama_stack is None:
        with pytest.raises(KeyError):
            instrument.series_names(LS)
    else:
        assert instrument.series_names(LS) == (llama_stack,)


def test_otel_names_per_server():
    assert catalog.INFERENCE_DURATION.otel_name(OGX) == "ogx.inference.duration_seconds"
    assert catalog.INFERENCE_DURATION.otel_name(LS) == "llama_stack.inference.duration_seconds"
    assert (
        catalog.GEN_AI_TOKEN_USAGE.otel_name(OGX)
        == catalog.GEN_AI_TOKEN_USAGE.otel_name(LS)
        == ("gen_ai.client.token.usage")
    )
    assert catalog.INFERENCE_MODEL_TYPE_USED.otel_name(OGX) == "ogx.inference.model_type_used_total"


def test_dashboard_name_patterns():
    assert catalog.INFERENCE_DURATION.name_pattern("bucket") == "(ogx|llama_stack)_inference_duration_seconds_bucket"
    assert catalog.REQUESTS.name_pattern() == "(ogx|llama_stack)_requests_total"
    assert catalog.RESPONSES_TOOL_TYPES_USED.name_pattern() == "ogx_responses_tool_types_used_total"
    # Auto-instrumentation metrics exist under both prefixes; the dashboards read one copy.
    assert catalog.GEN_AI_TOKEN_USAGE.name_pattern("sum") == "ogx_gen_ai_client_token_usage_sum"
    with pytest.raises(TypeError):
        catalog.TOOL_INVOCATIONS.name_pattern("bucket")
    with pytest.raises(ValueError):
        catalog.INFERENCE_DURATION.name_pattern("total")


def test_gauges_for_updowncounters():
    assert catalog.CONCURRENT_REQUESTS.prometheus_type == "gauge"
    assert catalog.TOOL_INVOCATIONS.prometheus_type == "counter"
    assert catalog.INFERENCE_DURATION.prometheus_type == "histogram"


@pytest.mark.parametrize(
    ("name", "kind", "unit", "server", "expected"),
    [
        ("llama_stack.x.duration_seconds", HISTOGRAM, "s", OGX, "llama_stack_x_duration_seconds"),
        ("ogx.x.duration_seconds", HISTOGRAM, "s", LS, "ogx_x_duration_seconds"),
        ("x.duration", HISTOGRAM, "s", OGX, "ogx_x_duration_seconds"),
        ("x.duration", HISTOGRAM, "s", LS, "llama_stack_x_duration_seconds"),
        ("x.duration", HISTOGRAM, "ms", OGX, "ogx_x_duration_milliseconds"),
        ("x.latency_milliseconds", HISTOGRAM, "ms", OGX, "ogx_x_latency_milliseconds"),
        ("x.usage", HISTOGRAM, "{token}", LS, "llama_stack_x_usage"),
        ("x.ratio", HISTOGRAM, "", OGX, "ogx_x_ratio"),
        ("ogx.x.calls_total", COUNTER, "1", OGX, "ogx_x_calls_total"),
        ("x.calls", COUNTER, "1", LS, "llama_stack_x_calls_total"),
        ("x.calls", COUNTER, "{call}", OGX, "ogx_x_calls_total"),
        ("x.busy_time", COUNTER, "s", OGX, "ogx_x_busy_time_seconds_total"),
        ("llama_stack.x.in_flight", UPDOWNCOUNTER, "1", OGX, "llama_stack_x_in_flight"),
        ("x.in-flight", UPDOWNCOUNTER, "{request}", OGX, "ogx_x_in_flight"),
        ("ogxy.calls", COUNTER, "1", LS, "llama_stack_ogxy_calls_total"),
    ],
)
def test_prometheus_name_rules(name, kind, unit, server, expected):
    assert prometheus_name(name, kind, unit, server) == expected


def test_unknown_unit_or_kind_is_rejected():
    with pytest.raises(ValueError):
        prometheus_name("x.size", HISTOGRAM, "By")
    with pytest.raises(ValueError):
        prometheus_name("x.size", "gauge", "1")
    with pytest.raises(ValueError):
        Instrument("x.size", HISTOGRAM, "furlongs", (), "test", "bad unit")
    with pytest.raises(ValueError):
        Instrument("x.calls", COUNTER, "1", (), "test", "buckets on a counter", buckets=(1.0,))


def test_label_names():
    assert label_name("gen_ai.request.model") == "gen_ai_request_model"
    assert catalog.GEN_AI_TOKEN_USAGE.labels == ("gen_ai_request_model", "gen_ai_token_type")
    assert catalog.HTTP_SERVER_DURATION.label("http.status_code") == "http_status_code"
    assert catalog.HTTP_SERVER_REQUEST_DURATION.label("http.response.status_code") == ("http_response_status_code")
    assert catalog.INFERENCE_DURATION.label("model") == "model"
    with pytest.raises(KeyError):
        catalog.REQUEST_DURATION.label("status")


@pytest.mark.parametrize("server", catalog.SERVERS, ids=lambda s: s.key)
def test_every_instrument_is_well_formed(server):
    for inst in catalog.INSTRUMENTS:
        assert inst.kind in (COUNTER, HISTOGRAM, UPDOWNCOUNTER), inst.name
        assert inst.domain in catalog.DOMAINS
        assert inst.description
        assert not inst.name.startswith(("ogx.", "llama_stack.")), inst.name
        if not inst.defined_by(server):
            continue
        for series in inst.series_names(server):
            assert METRIC_NAME.match(series), series
            assert series.startswith(server.series_prefix), series
            rest = series[len(server.series_prefix) :]
            assert not rest.startswith(("ogx_", "llama_stack_")), series
        for label in inst.labels:
            assert LABEL_NAME.match(label), (inst.name, label)
        assert len(set(inst.attributes)) == len(inst.attributes), inst.name
        if inst.kind == COUNTER:
            assert inst.prometheus_name(server).endswith("_total")
            assert not inst.prometheus_name(server).endswith("_total_total")


def test_the_four_instruments_new_in_ogx_1_5():
    assert {i.otel_name(OGX) for i in catalog.INSTRUMENTS if i.servers == (OGX,)} == {
        "ogx.inference.model_type_used_total",
        "ogx.vector_io.documents_retrieved_total",
        "ogx.responses.tool_types_used_total",
        "ogx.responses.agentic_calls_total",
    }


def test_names_and_series_are_unique():
    names = [i.name for i in catalog.INSTRUMENTS]
    assert len(names) == len(set(names))
    for server in catalog.SERVERS:
        series = [s for i in catalog.INSTRUMENTS if i.defined_by(server) for s in i.series_names(server)]
        assert len(series) == len(set(series))
        assert catalog.all_series_names(server) == frozenset(series)


def test_lookup():
    assert catalog.by_name("gen_ai.client.token.usage") is catalog.GEN_AI_TOKEN_USAGE
    assert catalog.server_named("llama-stack") is LS and catalog.server_named("ogx") is OGX
    with pytest.raises(KeyError):
        catalog.server_named("llama_stack")
    with pytest.raises(KeyError):
        catalog.by_name("vector_io.query_duration_seconds")
    assert {i.otel_name(LS) for i in catalog.by_domain("vector_io") if i.defined_by(LS)} == {
        "llama_stack.vector_io.inserts_total",
        "llama_stack.vector_io.queries_total",
        "llama_stack.vector_io.deletes_total",
        "llama_stack.vector_io.stores_total",
        "llama_stack.vector_io.files_total",
        "llama_stack.vector_io.chunks_processed_total",
        "llama_stack.vector_io.insert_duration_seconds",
        "llama_stack.vector_io.retrieval_duration_seconds",
    }


def test_the_upstream_phantom_metric_is_absent():
    # Upstream dashboards query a vector IO query_duration metric that is never emitted.
    for server in catalog.SERVERS:
        assert not any("query_duration" in s for s in catalog.all_series_names(server))
