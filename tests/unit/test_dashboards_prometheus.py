"""Proof: every dashboard query returns data from what Llama Stack emits.

The demo's events (every catalog instrument, realistic attribute combinations)
go through the OpenTelemetry SDK into an InMemoryMetricReader.  The collected
metrics are written as Prometheus exposition text with the names our collector
produces (one ``llama_stack_`` prefix, unit suffixes, ``_total``,
``_bucket``/``_sum``/``_count`` with ``le``, attribute dots -> underscores: the
catalog's derivation).  A tiny HTTP server in this test serves that text to a
real Prometheus (Debian's binary) scraping every second: the first scrape sees
an earlier snapshot and later ones a later snapshot, so counters increase and
``rate()`` has two samples or more.  Then every query of every dashboard, with
variables substituted as Grafana would, runs against Prometheus's HTTP API and
must return at least one series with a number in it; so must every template
variable and the PromQL from Llama Stack's documentation.  The queries run with
every variable at "All", and again with the Service variable at the value it
lists: this test's scrape job name, which is what the ``job`` label holds here
(in the stack, the collector sets it to the app's ``service.name``).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.conftest import skip_or_fail

from telemetry_stack import catalog
from telemetry_stack import dashboards as d
from telemetry_stack import demo
from telemetry_stack.deploy import free_port

JOB = "llama-stack-demo"
SCRAPE_INTERVAL = "1s"
# Grafana: $__rate_interval = max($__interval + scrape interval, 4 x scrape interval).
# Every sample of this test lies within the last few seconds, so any window of at
# least 4 x 1 s that spans all scrapes is what Grafana would use on a short range.
GRAFANA_BUILTINS = {"__rate_interval": "30s", "__interval": "15s", "__range": "1h",
                    "__range_s": "3600", "__interval_ms": "15000"}
ALL_VALUE = ".*"  # every query variable has "All" = .*
SEED = 7
FIRST_REQUESTS = len(demo.WARMUP) + 40
MORE_REQUESTS = 120


def _prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found:
        return found
    if os.access("/usr/bin/prometheus", os.X_OK):
        return "/usr/bin/prometheus"
    skip_or_fail("prometheus", "the prometheus binary is neither on PATH nor at /usr/bin/prometheus")
    raise AssertionError  # unreachable


# --- OpenTelemetry SDK -> Prometheus exposition, as our collector names things ------------


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _label_value(value) -> str:
    if isinstance(value, bool):  # the collector writes booleans as true/false
        return "true" if value else "false"
    return str(value)


def _sample(name: str, labels: dict[str, str], value: float) -> str:
    text = ",".join(f'{key}="{_escape(val)}"' for key, val in sorted(labels.items()))
    return f"{name}{{{text}}} {float(value)!r}" if text else f"{name} {float(value)!r}"


def _bound(value: float) -> str:
    return "+Inf" if math.isinf(value) else repr(float(value))


def exposition(metrics_data) -> str:
    """Prometheus text format of SDK metrics, named by the catalog's derivation."""
    from opentelemetry.sdk.metrics.export import Histogram, Sum

    lines: list[str] = []
    seen: set[str] = set()
    for resource_metrics in metrics_data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                inst = catalog.by_name(metric.name)
                assert metric.unit == inst.unit, (metric.name, metric.unit)
                data = metric.data
                if isinstance(data, Histogram):
                    assert inst.kind == catalog.HISTOGRAM, metric.name
                elif isinstance(data, Sum):
                    expected = catalog.COUNTER if data.is_monotonic else catalog.UPDOWNCOUNTER
                    assert inst.kind == expected, metric.name
                else:
                    raise AssertionError(f"{metric.name}: unexpected data {type(data)}")
                family = inst.prometheus_name
                assert family not in seen, f"{family} exported twice"
                seen.add(family)
                lines.append(f"# HELP {family} {_escape(metric.description)}")
                lines.append(f"# TYPE {family} {inst.prometheus_type}")
                for point in data.data_points:
                    labels = {catalog.label_name(k): _label_value(v)
                              for k, v in point.attributes.items()}
                    assert set(labels) <= set(inst.labels), (metric.name, labels)
                    if isinstance(data, Histogram):
                        cumulative = 0
                        bounds = [*point.explicit_bounds, math.inf]
                        for bound, count in zip(bounds, point.bucket_counts, strict=True):
                            cumulative += count
                            lines.append(_sample(inst.bucket, {**labels, "le": _bound(bound)},
                                                 cumulative))
                        lines.append(_sample(inst.sum, labels, point.sum))
                        lines.append(_sample(inst.count, labels, point.count))
                    else:
                        lines.append(_sample(family, labels, point.value))
    return "\n".join(lines) + "\n"


def _snapshots() -> list[str]:
    """Exposition text after the first requests, and after more of them."""
    try:
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    except ImportError:
        skip_or_fail("prometheus", f"the OpenTelemetry SDK is not installed ({demo.INSTALL_HINT})")
    reader = InMemoryMetricReader()
    provider = demo.make_meter_provider([reader])
    recorder = demo.MetricRecorder(provider)
    generator = demo.EventGenerator(SEED)
    snapshots = []
    try:
        for count in (FIRST_REQUESTS, MORE_REQUESTS):
            for _ in range(count):
                recorder.record_all(generator.next_request().metrics)
            snapshots.append(exposition(reader.get_metrics_data()))
    finally:
        provider.shutdown()
    return snapshots


# --- a scrape target and a real Prometheus ---------------------------------------------


class _Target:
    """Serves snapshot k on the k-th scrape (the last one from then on)."""

    def __init__(self, snapshots: list[str]) -> None:
        self.snapshots = [s.encode() for s in snapshots]
        self.scrapes = 0
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = target.snapshots[min(target.scrapes, len(target.snapshots) - 1)]
                target.scrapes += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Prometheus:
    def __init__(self, binary: str, workdir: Path, target_port: int) -> None:
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n"
            f"  scrape_interval: {SCRAPE_INTERVAL}\n"
            f"  scrape_timeout: {SCRAPE_INTERVAL}\n"
            "scrape_configs:\n"
            f"  - job_name: {JOB}\n"
            "    static_configs:\n"
            f"      - targets: ['127.0.0.1:{target_port}']\n")
        self.port = free_port("127.0.0.1")
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "prometheus.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def wait_until(self, check, what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"prometheus exited ({self.process.returncode}) while waiting "
                            f"for {what}:\n{self.log()}")
            try:
                if check():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        pytest.fail(f"timed out waiting for {what}:\n{self.log()}")

    def get(self, path: str, **params) -> dict:
        answer = requests.get(f"{self.url}{path}", params=params, timeout=10)
        body = answer.json()
        assert body.get("status") == "success", (path, params, body)
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        data = self.get("/api/v1/query", query=expr)
        assert data["resultType"] == "vector", (expr, data["resultType"])
        return data["result"]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    binary = _prometheus_binary()
    snapshots = _snapshots()
    target = _Target(snapshots)
    server = _Prometheus(binary, tmp_path_factory.mktemp("prometheus"), target.port)
    try:
        server.wait_until(lambda: requests.get(f"{server.url}/-/ready", timeout=2).ok,
                          "prometheus to be ready")
        # Three scrapes stored: one of the first snapshot, two or more of the second.
        server.wait_until(
            lambda: any(float(r["value"][1]) >= 3 for r in server.query(
                f'count_over_time(up{{job="{JOB}"}}[5m])')),
            "three scrapes of the demo metrics")
        targets = server.get("/api/v1/targets")["activeTargets"]
        assert [t["health"] for t in targets] == ["up"], targets
        yield server
    finally:
        server.stop()
        target.close()


# --- Grafana's side -----------------------------------------------------------------------

VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}|([A-Za-z_][A-Za-z0-9_]*))")


def _regex_escape(value: str) -> str:
    """Grafana's Prometheus escaping of one selected value inside a =~"..." matcher:
    a regex escape, written as a PromQL string (so each backslash doubled)."""
    value = value.replace("\\", "\\" * 4)
    return re.sub(r"([$^*+?.()|{}\[\]'])", r"\\\\\1", value)


def grafana_interpolate(expr: str, variables: set[str],
                        selected: dict[str, str] | None = None) -> str:
    """What Grafana sends to Prometheus: built-ins replaced, query variables at
    their ``selected`` value, or at All."""
    selected = selected or {}

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name in GRAFANA_BUILTINS:
            return GRAFANA_BUILTINS[name]
        if name in selected:
            return _regex_escape(selected[name])
        if name in variables:
            return ALL_VALUE
        raise AssertionError(f"unknown variable ${name} in {expr!r}")

    result = VARIABLE.sub(replace, expr)
    assert "$" not in result, result
    return result


def _query_variables(dashboard: dict) -> dict[str, dict]:
    return {v["name"]: v for v in dashboard["templating"]["list"] if v["type"] == "query"}


def _has_number(result: list[dict]) -> bool:
    return any(math.isfinite(float(r["value"][1])) for r in result)


DASHBOARDS = d.build_all()


def _variable_values(prometheus, dashboard: dict, name: str) -> list[str]:
    """The values a query variable lists, with the variables it depends on at All."""
    variables = _query_variables(dashboard)
    match = re.fullmatch(r"label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)",
                         variables[name]["definition"])
    assert match, f"{dashboard['title']} / variable {name}: {variables[name]['definition']}"
    selector = grafana_interpolate(match.group(1), set(variables))
    values = prometheus.get(f"/api/v1/label/{match.group(2)}/values",
                            **{"match[]": selector, "start": time.time() - 3600})
    return [v for v in values if v]


@pytest.mark.parametrize("service", ["All", "listed"])
@pytest.mark.parametrize("slug", d.SLUGS)
def test_every_panel_query_returns_data(prometheus, slug, service):
    dashboard = DASHBOARDS[slug]
    variables = set(_query_variables(dashboard))
    selected = {}
    if service == "listed":  # one service picked from what the variable offers
        listed = _variable_values(prometheus, dashboard, d.SERVICE_VARIABLE)
        assert listed == [JOB], listed
        selected[d.SERVICE_VARIABLE] = listed[0]
    failures = []
    checked = 0
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = grafana_interpolate(target["expr"], variables, selected)
            result = prometheus.query(expr)
            checked += 1
            if not result:
                failures.append(f"{dashboard['title']} / {panel['title']} / {target['refId']}: "
                                f"no series for {expr}")
            elif not _has_number(result):
                failures.append(f"{dashboard['title']} / {panel['title']} / {target['refId']}: "
                                f"only NaN/Inf for {expr}")
    assert checked, f"{slug}: no queries"
    assert not failures, "panels without data:\n" + "\n".join(failures)


@pytest.mark.parametrize("slug", d.SLUGS)
def test_every_template_variable_lists_values(prometheus, slug):
    dashboard = DASHBOARDS[slug]
    variables = _query_variables(dashboard)
    assert d.SERVICE_VARIABLE in variables, f"{dashboard['title']}: no service variable"
    failures = []
    for name, variable in variables.items():
        if not _variable_values(prometheus, dashboard, name):
            failures.append(f"{dashboard['title']} / variable {name}: no values for "
                            f"{variable['definition']}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("query", catalog.DOCUMENTED_QUERIES)
def test_documented_query_returns_data(prometheus, query):
    result = prometheus.query(query)
    assert result, f"no series for the documented query {query}"
    assert _has_number(result), f"only NaN/Inf for the documented query {query}"


def test_every_catalog_series_was_scraped(prometheus):
    names = set(prometheus.get("/api/v1/label/__name__/values"))
    missing = sorted(catalog.all_series_names() - names)
    assert not missing, f"series never scraped: {missing}"
    doubled = sorted(n for n in names if n.startswith("llama_stack_llama_stack"))
    assert not doubled, doubled
