"""The whole pipeline on the real programs: the demo's OTLP goes through the real collector into the real
Prometheus, and every query of every dashboard, every template variable and the PromQL from each server's
documentation return data there. Series names are whatever the real collector produced.

Three apps send at once, as a shared stack may see: one named like OGX 1.x, one like Llama Stack 0.7.x (both
with the servers' own histogram buckets), and one OGX app that opted in to exponential histograms and sets
service.namespace (so its job label is namespace/name)."""

from __future__ import annotations

import json
import re
import time

import pytest

from telemetry_stack import catalog
from telemetry_stack import dashboards as d
from tests.conftest import spawn_cli
from tests.dashboard_queries import PrometheusAPI, grafana_interpolate, has_number, query_variables
from tests.engine.conftest import deployed, published_urls

AGGREGATION = "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"
EXPONENTIAL = "prod/ogx-exponential"
# job label -> (--naming, histogram aggregation the app's SDK uses, resource attributes)
APPS = {
    "ogx-demo": ("ogx", "explicit_bucket_histogram", ""),
    "llama-stack-demo": ("llama-stack", "explicit_bucket_histogram", ""),
    EXPONENTIAL: ("ogx", "base2_exponential_bucket_histogram", "service.namespace=prod"),
}
OGX_ONLY = "Emitted by OGX only"  # how a panel of an instrument Llama Stack lacks says so
DASHBOARDS = d.build_all()


@pytest.fixture(scope="module")
def prometheus(engine_name, images):
    pytest.importorskip("opentelemetry.sdk", reason="the demo extra is not installed")
    with deployed(engine_name, images, "pipeline") as (env, up):
        # Enough requests that each vector store, operation and search mode recurs across scrapes: a series
        # seen in one scrape only has no rate, and histogram_quantile over no rate is NaN.
        demos = {
            job: spawn_cli(
                "demo",
                "--duration",
                "15",
                "--rate",
                "20",
                "--naming",
                naming,
                "--service-name",
                job.rpartition("/")[2],
                "--json",
                env={**env, AGGREGATION: aggregation, "OTEL_RESOURCE_ATTRIBUTES": attributes},
            )
            for job, (naming, aggregation, attributes) in APPS.items()
        }
        for service, process in demos.items():
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, (service, err)
            summary = json.loads(out)
            assert summary["export_errors"] == 0 and summary["naming"] == APPS[service][0], summary
        demo_ended = time.time()  # their last exports are flushed when they exit
        api = PrometheusAPI(published_urls(up.json)["prometheus"])
        api.wait_until_scraped(
            "otel-collector",
            'min(max by (job) (timestamp({__name__=~"(ogx|llama_stack)_requests_total"})))',
            demo_ended,
        )
        # Every query is evaluated at this moment, however long the tests take: a dashboard opened right after
        # the demos. Its rate() windows ($__rate_interval = 1m here) then span the whole demo.
        api.at = time.time()
        yield api


def _ogx_only(panel: dict) -> bool:
    return panel["description"].startswith(OGX_ONLY)


@pytest.mark.parametrize("service", ["All", *APPS])
@pytest.mark.parametrize("slug", d.SLUGS)
def test_every_panel_query_returns_data(prometheus, slug, service):
    """For each app alone (as its own user sees it) and for all of them; a Llama Stack app has no data only
    on the panels of the four instruments OGX 1.5 added, and has none there."""
    dashboard = DASHBOARDS[slug]
    selected = {} if service == "All" else {d.SERVICE_VARIABLE: service}
    naming = APPS.get(service, ("all",))[0]
    panels = [p for p in dashboard["panels"] if naming != "llama-stack" or not _ogx_only(p)]
    checked, failures = prometheus.empty_panels({**dashboard, "panels": panels}, selected)
    assert checked, f"{slug}: no queries"
    assert not failures, "panels without data:\n" + "\n".join(failures)
    if naming == "llama-stack":
        others = [p for p in dashboard["panels"] if _ogx_only(p)]
        if others:
            checked, empty = prometheus.empty_panels({**dashboard, "panels": others}, selected)
            assert len(empty) == checked, f"{slug}: an OGX-only panel has Llama Stack data"


@pytest.mark.parametrize("slug", d.SLUGS)
def test_every_template_variable_lists_values(prometheus, slug):
    dashboard = DASHBOARDS[slug]
    variables = query_variables(dashboard)
    assert prometheus.variable_values(dashboard, d.SERVICE_VARIABLE) == sorted(APPS)
    empty = [
        f"{dashboard['title']} / variable {name}: no values for {v['definition']}"
        for name, v in variables.items()
        if not prometheus.variable_values(dashboard, name)
    ]
    assert not empty, "\n".join(empty)


@pytest.mark.parametrize(
    ("server", "query"), [(s, q) for s, queries in catalog.DOCUMENTED_QUERIES.items() for q in queries]
)
def test_documented_query_returns_data(prometheus, server, query):
    result = prometheus.query(query)
    assert result, f"no series for {server}'s documented query {query}"
    assert has_number(result), f"only NaN/Inf for {server}'s documented query {query}"


@pytest.mark.parametrize("server", catalog.SERVERS, ids=lambda s: s.key)
def test_every_catalog_series_arrived_with_one_prefix(prometheus, server):
    names = set(prometheus.get("/api/v1/label/__name__/values"))
    missing = sorted(catalog.all_series_names(server) - names)
    assert not missing, f"{server.title} series the real collector never produced: {missing}"
    doubled = sorted(
        n for n in names if n.startswith(("llama_stack_llama_stack", "ogx_ogx", "ogx_llama_stack", "llama_stack_ogx"))
    )
    assert not doubled, doubled


def test_exponential_histograms_arrive_as_native_histograms(prometheus):
    native = prometheus.query(f'histogram_count(ogx_inference_duration_seconds{{job="{EXPONENTIAL}"}})')
    assert native and has_number(native), "no native histogram for the app that sends exponential histograms"
    classic = prometheus.query(f'ogx_inference_duration_seconds_bucket{{job="{EXPONENTIAL}"}}')
    assert not classic, "an exponential histogram also produced classic buckets"


def _panel_values(api: PrometheusAPI, slug: str, title: str, service: str) -> dict[str, float]:
    """legend -> value of each target of one panel, with Service set to ``service``."""
    dashboard = DASHBOARDS[slug]
    panel = next(p for p in dashboard["panels"] if p["title"] == title)
    values = {}
    for target in panel["targets"]:
        expr = grafana_interpolate(target["expr"], set(query_variables(dashboard)), {d.SERVICE_VARIABLE: service})
        (sample,) = api.query(expr)
        values[target["legendFormat"]] = float(sample["value"][1])
    return values


def test_what_a_latency_panel_shows_with_default_and_with_exponential_buckets(prometheus):
    """The servers give time to first token the SDK's default buckets (0, 5, 10 s, ...). Every observation then
    falls in 0-5 s and the percentiles are interpolation: p50 reads 2.5 s and p95 4.75 s whatever the latency.
    The average beside them is exact, and with exponential histograms the percentiles are real."""
    title = "Time to first token: average, p50 / p95 (streaming)"
    under_5s = prometheus.query(
        'sum(ogx_inference_time_to_first_token_seconds_bucket{job="ogx-demo",le=~"5(\\\\.0)?"})'
        ' / sum(ogx_inference_time_to_first_token_seconds_count{job="ogx-demo"})'
    )
    assert float(under_5s[0]["value"][1]) == 1.0, "the demo's first tokens should all come within 5 s"

    default = _panel_values(prometheus, "llama-stack-inference", title, "ogx-demo")
    assert default["p50"] == pytest.approx(2.5) and default["p95"] == pytest.approx(4.75), default
    exact = prometheus.query(
        'sum(rate(ogx_inference_time_to_first_token_seconds_sum{job="ogx-demo"}[1m]))'
        ' / sum(rate(ogx_inference_time_to_first_token_seconds_count{job="ogx-demo"}[1m]))'
    )
    assert default["average"] == pytest.approx(float(exact[0]["value"][1]))
    assert default["average"] < 2.0, default

    exponential = _panel_values(prometheus, "llama-stack-inference", title, EXPONENTIAL)
    assert exponential["p50"] <= exponential["p95"] < 4, exponential
    # Base-2 buckets at the SDK's default scale are within a few percent: the median lies near the average
    # of this right-skewed latency, not at the middle of a 5-second bucket.
    assert exponential["average"] / 3 < exponential["p50"] < exponential["average"] * 1.5, exponential


@pytest.mark.parametrize(("job", "jaeger_service"), [("ogx-demo", "ogx-demo"), (EXPONENTIAL, "ogx-exponential")])
def test_the_jaeger_link_names_the_service_as_jaeger_knows_it(prometheus, job, jaeger_service):
    """An app that sets service.namespace gets the job namespace/name from the real collector; the link's hidden
    variable turns the selected job back into the service name Jaeger searches by."""
    dashboard = DASHBOARDS["llama-stack-overview"]
    variable = next(v for v in dashboard["templating"]["list"] if v["name"] == d.TRACE_SERVICE_VARIABLE)
    selector = grafana_interpolate(
        variable["definition"][len("label_values(") : -len(", job)")],
        set(query_variables(dashboard)),
        {d.SERVICE_VARIABLE: job},
    )
    end = prometheus.at
    jobs = prometheus.get("/api/v1/label/job/values", **{"match[]": selector, "start": end - 3600, "end": end})
    assert jobs == [job]
    match = re.search(variable["regex"][1:-1], jobs[0])  # Grafana keeps the capture group
    assert match and match.group(1) == jaeger_service
