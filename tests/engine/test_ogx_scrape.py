"""`up --ogx-metrics PORT`: the real Prometheus scrapes an endpoint on the engine's host, served the way OGX
serves its own (OGX_METRICS_ENDPOINT_ENABLED: opentelemetry-exporter-prometheus's reader on prometheus_client's
HTTP server), and the dashboards fill from that path as from the collector."""

from __future__ import annotations

import socket
import time

import pytest

from telemetry_stack import catalog, demo
from telemetry_stack import dashboards as d
from tests.dashboard_queries import PrometheusAPI, has_number
from tests.engine.conftest import deployed, published_urls

RATE, SECONDS = 20, 15


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ogx_endpoint():
    """OGX's scrape endpoint, as OGX builds it: a PrometheusMetricReader on the default registry, served on
    all interfaces (OGX_METRICS_HOST=0.0.0.0), fed by the demo's requests with OGX's instrument names."""
    pytest.importorskip("opentelemetry.exporter.prometheus", reason="the test extra is not installed")
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.resources import Resource
    from prometheus_client import start_http_server

    port = _free_port()
    server, thread = start_http_server(port=port, addr="0.0.0.0")
    provider = demo.make_meter_provider([PrometheusMetricReader()], Resource({"service.name": "ogx"}))
    recorder = demo.MetricRecorder(provider, catalog.OGX)
    try:
        yield port, recorder
    finally:
        provider.shutdown()
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="module")
def prometheus(engine_name, images, ogx_endpoint):
    port, recorder = ogx_endpoint
    with deployed(engine_name, images, "ogxscrape", "--ogx-metrics", str(port)) as (_, up):
        api = PrometheusAPI(published_urls(up.json)["prometheus"])
        generator = demo.EventGenerator(seed=5)
        started = time.monotonic()
        for sent in range(RATE * SECONDS):  # the demo's pace, so every series spans several scrapes
            time.sleep(max(0.0, started + sent / RATE - time.monotonic()))
            recorder.record_all(generator.next_request().metrics)
        recorder.record_all(generator.drain())
        api.wait_until_scraped("ogx", 'max(timestamp(ogx_requests_total{job="ogx"}))', time.time())
        api.at = time.time()
        yield api


def test_prometheus_scrapes_the_endpoint_on_the_host(prometheus):
    up = prometheus.query('up{job="ogx"}')
    assert [float(s["value"][1]) for s in up] == [1.0]
    assert up[0]["metric"]["instance"].startswith("host.containers.internal:")


def test_auto_instrumentation_metrics_get_the_collectors_prefix(prometheus):
    names = set(prometheus.get("/api/v1/label/__name__/values"))
    assert "ogx_gen_ai_client_token_usage_sum" in names and "ogx_http_server_duration_milliseconds_bucket" in names
    assert not {"gen_ai_client_token_usage_sum", "http_server_duration_milliseconds_bucket"} & names


@pytest.mark.parametrize("slug", d.SLUGS)
def test_every_panel_fills_from_ogxs_own_endpoint(prometheus, slug):
    dashboard = d.build_all()[slug]
    assert prometheus.variable_values(dashboard, d.SERVICE_VARIABLE) == ["ogx"]
    checked, failures = prometheus.empty_panels(dashboard, {d.SERVICE_VARIABLE: "ogx"})
    assert checked and not failures, "panels without data:\n" + "\n".join(failures)


def test_ogxs_documented_queries_work_on_this_path(prometheus):
    for query in catalog.DOCUMENTED_QUERIES[catalog.OGX.key]:
        result = prometheus.query(query)
        assert result and has_number(result), query
