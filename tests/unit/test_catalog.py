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

# Verbatim from Llama Stack's documentation (see the project's shared notes).
DOCUMENTED_QUERIES = (
    'sum by(gen_ai_request_model) (llama_stack_gen_ai_client_token_usage_sum{gen_ai_token_type="input"})',
    'sum by(gen_ai_request_model) (llama_stack_gen_ai_client_token_usage_sum{gen_ai_token_type="output"})',
    "histogram_quantile(0.95, rate(llama_stack_http_server_duration_milliseconds_bucket[5m]))",
    "histogram_quantile(0.99, rate(llama_stack_inference_duration_seconds_bucket[5m]))",
    "rate(llama_stack_tool_runtime_invocations_total[5m])",
    "rate(llama_stack_vector_io_inserts_total[5m])",
)

METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def test_documented_queries_are_derived_from_the_catalog():
    assert catalog.DOCUMENTED_QUERIES == DOCUMENTED_QUERIES


@pytest.mark.parametrize(
    ("instrument", "series"),
    [
        (catalog.GEN_AI_TOKEN_USAGE, "llama_stack_gen_ai_client_token_usage_sum"),
        (catalog.HTTP_SERVER_DURATION, "llama_stack_http_server_duration_milliseconds_bucket"),
        (catalog.INFERENCE_DURATION, "llama_stack_inference_duration_seconds_bucket"),
        (catalog.HTTP_SERVER_REQUEST_DURATION,
         "llama_stack_http_server_request_duration_seconds_count"),
        (catalog.INFERENCE_TIME_TO_FIRST_TOKEN,
         "llama_stack_inference_time_to_first_token_seconds_bucket"),
        (catalog.INFERENCE_TOKENS_PER_SECOND, "llama_stack_inference_tokens_per_second_sum"),
        (catalog.VECTOR_RETRIEVAL_DURATION,
         "llama_stack_vector_io_retrieval_duration_seconds_bucket"),
        (catalog.REQUEST_DURATION, "llama_stack_request_duration_seconds_bucket"),
    ],
)
def test_histogram_series(instrument, series):
    assert series in instrument.series_names
    assert instrument.series_names == (instrument.bucket, instrument.sum, instrument.count)


@pytest.mark.parametrize(
    ("instrument", "series"),
    [
        (catalog.TOOL_INVOCATIONS, "llama_stack_tool_runtime_invocations_total"),
        (catalog.VECTOR_INSERTS, "llama_stack_vector_io_inserts_total"),
        (catalog.VECTOR_CHUNKS_PROCESSED, "llama_stack_vector_io_chunks_processed_total"),
        (catalog.REQUESTS, "llama_stack_requests_total"),
        (catalog.RESPONSES_PARAMETER_USAGE, "llama_stack_responses_parameter_usage_total"),
        (catalog.CONCURRENT_REQUESTS, "llama_stack_concurrent_requests"),
        (catalog.HTTP_SERVER_ACTIVE_REQUESTS, "llama_stack_http_server_active_requests"),
    ],
)
def test_counter_and_gauge_series(instrument, series):
    assert instrument.prometheus_name == series
    assert instrument.series_names == (series,)


def test_gauges_for_updowncounters():
    assert catalog.CONCURRENT_REQUESTS.prometheus_type == "gauge"
    assert catalog.TOOL_INVOCATIONS.prometheus_type == "counter"
    assert catalog.INFERENCE_DURATION.prometheus_type == "histogram"


@pytest.mark.parametrize(
    ("name", "kind", "unit", "expected"),
    [
        ("llama_stack.x.duration_seconds", HISTOGRAM, "s", "llama_stack_x_duration_seconds"),
        ("x.duration", HISTOGRAM, "s", "llama_stack_x_duration_seconds"),
        ("x.duration", HISTOGRAM, "ms", "llama_stack_x_duration_milliseconds"),
        ("x.latency_milliseconds", HISTOGRAM, "ms", "llama_stack_x_latency_milliseconds"),
        ("x.usage", HISTOGRAM, "{token}", "llama_stack_x_usage"),
        ("x.ratio", HISTOGRAM, "", "llama_stack_x_ratio"),
        ("llama_stack.x.calls_total", COUNTER, "1", "llama_stack_x_calls_total"),
        ("x.calls", COUNTER, "1", "llama_stack_x_calls_total"),
        ("x.calls", COUNTER, "{call}", "llama_stack_x_calls_total"),
        ("x.busy_time", COUNTER, "s", "llama_stack_x_busy_time_seconds_total"),
        ("llama_stack.x.in_flight", UPDOWNCOUNTER, "1", "llama_stack_x_in_flight"),
        ("x.in-flight", UPDOWNCOUNTER, "{request}", "llama_stack_x_in_flight"),
    ],
)
def test_prometheus_name_rules(name, kind, unit, expected):
    assert prometheus_name(name, kind, unit) == expected


def test_unknown_unit_or_kind_is_rejected():
    with pytest.raises(ValueError):
        prometheus_name("x.size", HISTOGRAM, "By")
    with pytest.raises(ValueError):
        prometheus_name("x.size", "gauge", "1")
    with pytest.raises(ValueError):
        Instrument("x.size", HISTOGRAM, "furlongs", (), "test", "bad unit")


def test_histogram_series_only_for_histograms():
    with pytest.raises(TypeError):
        catalog.TOOL_INVOCATIONS.bucket
    with pytest.raises(TypeError):
        catalog.CONCURRENT_REQUESTS.sum


def test_label_names():
    assert label_name("gen_ai.request.model") == "gen_ai_request_model"
    assert catalog.GEN_AI_TOKEN_USAGE.labels == ("gen_ai_request_model", "gen_ai_token_type")
    assert catalog.HTTP_SERVER_DURATION.label("http.status_code") == "http_status_code"
    assert catalog.HTTP_SERVER_REQUEST_DURATION.label("http.response.status_code") == (
        "http_response_status_code")
    assert catalog.INFERENCE_DURATION.label("model") == "model"
    with pytest.raises(KeyError):
        catalog.REQUEST_DURATION.label("status")


def test_every_instrument_is_well_formed():
    for inst in catalog.INSTRUMENTS:
        assert inst.kind in (COUNTER, HISTOGRAM, UPDOWNCOUNTER), inst.name
        assert inst.domain in catalog.DOMAINS
        assert inst.description
        assert inst.attributes, inst.name
        assert inst.custom == inst.name.startswith("llama_stack."), inst.name
        for series in inst.series_names:
            assert METRIC_NAME.match(series), series
            assert series.startswith(catalog.PREFIX), series
            assert catalog.PREFIX * 2 not in series, series
            assert not series.startswith(catalog.PREFIX + "llama_stack"), series
        for label in inst.labels:
            assert LABEL_NAME.match(label), (inst.name, label)
        assert len(set(inst.attributes)) == len(inst.attributes), inst.name
        if inst.kind == COUNTER:
            assert inst.prometheus_name.endswith("_total")
            assert not inst.prometheus_name.endswith("_total_total")


def test_names_and_series_are_unique():
    names = [i.name for i in catalog.INSTRUMENTS]
    assert len(names) == len(set(names))
    series = [s for i in catalog.INSTRUMENTS for s in i.series_names]
    assert len(series) == len(set(series))
    assert catalog.all_series_names() == frozenset(series)


def test_lookup():
    assert catalog.by_name("gen_ai.client.token.usage") is catalog.GEN_AI_TOKEN_USAGE
    with pytest.raises(KeyError):
        catalog.by_name("llama_stack.vector_io.query_duration_seconds")
    assert {i.name for i in catalog.by_domain("vector_io")} == {
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
    assert not any("query_duration" in s for s in catalog.all_series_names())
