"""The whole pipeline on the real programs: the demo's OTLP goes through the real collector into the real
Prometheus, and every query of every dashboard, every template variable and the PromQL from Llama Stack's
documentation return data there. Series names are whatever the real collector produced."""

from __future__ import annotations

import time

import pytest

from telemetry_stack import catalog
from telemetry_stack import dashboards as d
from tests.conftest import run_cli
from tests.dashboard_queries import PrometheusAPI, has_number, query_variables
from tests.engine.conftest import cli_env

DEMO_SERVICE = "llama-stack-demo"
DASHBOARDS = d.build_all()
SCRAPES_NEEDED = 3  # rate() and increase() need two samples; one more for margin


@pytest.fixture(scope="module")
def prometheus(engine_name, images):
    pytest.importorskip("opentelemetry.sdk", reason="the demo extra is not installed")
    env = {**cli_env(engine_name, images), "LLAMA_TELEMETRY_PROJECT": "pipeline", "LLAMA_TELEMETRY_PORTS": "auto"}
    try:
        up = run_cli("up", "--json", env=env)
        assert up.code == 0, up.stderr
        # Enough requests that each vector store, operation and search mode recurs across scrapes: a series
        # seen in one scrape only has no rate, and histogram_quantile over no rate is NaN.
        demo = run_cli("demo", "--duration", "15", "--rate", "20", "--service-name", DEMO_SERVICE, "--json", env=env)
        assert demo.code == 0, demo.stderr
        assert demo.json["export_errors"] == 0, demo.json
        demo_ended = time.time()  # its last export is flushed when it exits
        api = PrometheusAPI(next(s["urls"]["prometheus"] for s in up.json["services"] if s["name"] == "prometheus"))
        deadline = time.monotonic() + 60
        while True:  # scraped often enough, and once more after the demo's last export
            scrapes = api.query('count_over_time(up{job="otel-collector"}[2m])')
            latest = api.query("max(timestamp(llama_stack_requests_total))")
            if scrapes and float(scrapes[0]["value"][1]) >= SCRAPES_NEEDED and latest and float(latest[0]["value"][1]) >= demo_ended:
                break
            assert time.monotonic() < deadline, f"Prometheus did not scrape the demo's data in time: {scrapes} {latest}"
            time.sleep(1)
        # Every query is evaluated at this moment, however long the tests take: a dashboard opened right after
        # the demo. Its rate() windows ($__rate_interval = 1m here) then span the whole demo.
        api.at = time.time()
        yield api
    finally:
        down = run_cli("down", "--volumes", env=env)
        assert down.code == 0, down.stderr


@pytest.mark.parametrize("service", ["All", "listed"])
@pytest.mark.parametrize("slug", d.SLUGS)
def test_every_panel_query_returns_data(prometheus, slug, service):
    dashboard = DASHBOARDS[slug]
    selected = {}
    if service == "listed":  # one service picked from what the variable offers: the app's service.name
        listed = prometheus.variable_values(dashboard, d.SERVICE_VARIABLE)
        assert listed == [DEMO_SERVICE], listed
        selected[d.SERVICE_VARIABLE] = listed[0]
    checked, failures = prometheus.empty_panels(dashboard, selected)
    assert checked, f"{slug}: no queries"
    assert not failures, "panels without data:\n" + "\n".join(failures)


@pytest.mark.parametrize("slug", d.SLUGS)
def test_every_template_variable_lists_values(prometheus, slug):
    dashboard = DASHBOARDS[slug]
    variables = query_variables(dashboard)
    assert d.SERVICE_VARIABLE in variables, f"{dashboard['title']}: no service variable"
    empty = [f"{dashboard['title']} / variable {name}: no values for {v['definition']}"
             for name, v in variables.items() if not prometheus.variable_values(dashboard, name)]
    assert not empty, "\n".join(empty)


@pytest.mark.parametrize("query", catalog.DOCUMENTED_QUERIES)
def test_documented_query_returns_data(prometheus, query):
    result = prometheus.query(query)
    assert result, f"no series for the documented query {query}"
    assert has_number(result), f"only NaN/Inf for the documented query {query}"


def test_every_catalog_series_arrived_with_one_prefix(prometheus):
    names = set(prometheus.get("/api/v1/label/__name__/values"))
    missing = sorted(catalog.all_series_names() - names)
    assert not missing, f"series the real collector never produced: {missing}"
    doubled = sorted(n for n in names if n.startswith("llama_stack_llama_stack"))
    assert not doubled, doubled
