"""The dashboards on disk are what the builder makes, and every query is sound."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from telemetry_stack import catalog
from telemetry_stack import dashboards as d
from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = ROOT / "dashboards"
SLUGS = (
    "llama-stack-overview",
    "llama-stack-inference",
    "llama-stack-requests",
    "llama-stack-responses",
    "llama-stack-tool-runtime",
    "llama-stack-vector-io",
)
SERIES = re.compile(r"\bllama_stack_[a-z0-9_]+")
FIXED_WINDOW = re.compile(r"\[\s*\d+[smhdwy]")
DS = {"type": "prometheus", "uid": "${datasource}"}
UNITS = {"s", "ms", "reqps", "ops", "short", "percentunit"}


def _load(slug: str) -> dict:
    return json.loads((DASHBOARD_DIR / f"{slug}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def built() -> dict[str, dict]:
    return d.build_all()


def _exprs(built: dict[str, dict]):
    """(slug, panel title, refId, expr) for every panel query."""
    for slug, dash in built.items():
        for panel in dash["panels"]:
            for target in panel["targets"]:
                yield slug, panel["title"], target["refId"], target["expr"]


def _variable_queries(built: dict[str, dict]):
    for slug, dash in built.items():
        for var in dash["templating"]["list"]:
            if var["type"] == "query":
                yield slug, var["name"], var["definition"]


def test_builder_knows_the_six_dashboards(built):
    assert tuple(built) == SLUGS == d.SLUGS


@pytest.mark.parametrize("slug", SLUGS)
def test_files_on_disk_match_the_builder(slug, built):
    path = DASHBOARD_DIR / f"{slug}.json"
    assert path.is_file(), f"{path} missing: run python scripts/build_dashboards.py"
    assert path.read_text(encoding="utf-8") == d.render(built[slug]), (
        f"{path} is stale or hand-edited: run python scripts/build_dashboards.py")


def test_no_other_dashboard_files():
    assert sorted(p.stem for p in DASHBOARD_DIR.glob("*.json")) == sorted(SLUGS)


@pytest.mark.parametrize("slug", SLUGS)
def test_dashboard_conventions(slug):
    dash = _load(slug)
    assert dash["uid"] == slug
    assert dash["title"].startswith("Llama Stack / ")
    assert dash["tags"] == ["llama-stack", "llama-telemetry"]
    assert dash["time"] == {"from": "now-1h", "to": "now"}
    assert dash["refresh"] == "30s"
    assert dash["schemaVersion"] == d.SCHEMA_VERSION
    assert isinstance(dash["editable"], bool)
    assert dash["panels"]
    links = dash["links"]
    assert {"type": "dashboards", "tags": ["llama-stack"], "asDropdown": False}.items() <= (
        links[0].items())
    assert any(d.JAEGER_DATASOURCE_UID in link.get("url", "") for link in links)

    variables = {v["name"]: v for v in dash["templating"]["list"]}
    ds = variables["datasource"]
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"
    assert ds["current"]["value"] == d.PROMETHEUS_DATASOURCE_UID
    for var in variables.values():
        if var["type"] == "query":
            assert var["datasource"] == DS
            assert var["includeAll"] and var["allValue"] == ".*"
            # Every variable is multi-value except the service, which a trace search needs one of.
            assert var["multi"] == (var["name"] != d.SERVICE_VARIABLE)
            assert var["definition"].startswith("label_values(")
            assert var["query"]["query"] == var["definition"]


def test_titles_are_unique():
    titles = [_load(slug)["title"] for slug in SLUGS]
    assert len(set(titles)) == len(titles)


@pytest.mark.parametrize("slug", SLUGS)
def test_service_variable_comes_first_and_lists_jobs_of_a_catalog_series(slug):
    query_vars = [v for v in _load(slug)["templating"]["list"] if v["type"] == "query"]
    service = query_vars[0]  # first, so the variables after it can depend on it
    assert (service["name"], service["label"]) == ("service", "Service")
    assert service["definition"] == f"label_values({catalog.REQUESTS.prometheus_name}, job)"
    assert not service["multi"] and service["current"]["value"] == "$__all"
    for var in query_vars[1:]:
        assert '{job=~"$service"' in var["definition"], var["name"]


@pytest.mark.parametrize("slug", ["llama-stack-overview", "llama-stack-inference"])
def test_model_and_provider_variables(slug):
    variables = {v["name"]: v for v in _load(slug)["templating"]["list"]}
    for name in ("model", "provider"):
        assert catalog.INFERENCE_DURATION.prometheus_name in variables[name]["definition"]


@pytest.mark.parametrize("slug", SLUGS)
def test_panels(slug):
    dash = _load(slug)
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), f"{slug}: duplicate panel ids"
    variables = {v["name"] for v in dash["templating"]["list"]}
    for panel in dash["panels"]:
        where = f"{slug} / {panel['title']}"
        assert panel["type"] in {"timeseries", "stat", "table"}, where
        assert panel["datasource"] == DS, where
        assert panel["targets"], where
        assert panel["fieldConfig"]["defaults"]["unit"] in UNITS, where
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, where
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), where
        for target in panel["targets"]:
            assert target["datasource"] == DS, where
            # Every $variable a query uses is defined on the dashboard.
            for name in re.findall(r"\$\{?([a-z_][a-z0-9_]*)", target["expr"]):
                assert name.startswith("__") or name in variables, (where, name)


def test_every_series_comes_from_the_catalog_and_every_instrument_is_used(built):
    known = catalog.all_series_names()
    used: set[str] = set()
    texts = [(f"{s} / {t} / {r}", e) for s, t, r, e in _exprs(built)]
    texts += [(f"{s} / variable {n}", q) for s, n, q in _variable_queries(built)]
    for where, text in texts:
        names = SERIES.findall(text)
        assert names, f"{where}: no llama_stack_ series in {text!r}"
        unknown = set(names) - known
        assert not unknown, f"{where}: series not derived from the catalog: {unknown}"
        used.update(names)
    unused = [i.name for i in catalog.INSTRUMENTS if not used & set(i.series_names)]
    assert not unused, f"catalog instruments on no panel: {unused}"


def test_no_doubled_prefix_anywhere():
    for slug in SLUGS:
        assert "llama_stack_llama_stack" not in (DASHBOARD_DIR / f"{slug}.json").read_text()


def test_rate_windows_are_not_hard_coded(built):
    for slug, title, ref, expr in _exprs(built):
        if expr in catalog.DOCUMENTED_QUERIES:
            continue
        assert not FIXED_WINDOW.search(expr), f"{slug} / {title} / {ref}: {expr}"
        if "rate(" in expr or "increase(" in expr:
            assert "$__rate_interval" in expr or "$__range" in expr, f"{slug} / {title}"


def test_variables_are_honoured(built):
    for slug, dash in built.items():
        names = [v["name"] for v in dash["templating"]["list"] if v["type"] == "query"]
        exprs = " ".join(t["expr"] for p in dash["panels"] for t in p["targets"])
        for name in names:
            assert f'=~"${name}"' in exprs, f"{slug}: variable {name} unused"


SELECTOR = re.compile(r"\b(llama_stack_[a-z0-9_]+)(\{[^}]*\})?")


def test_every_selector_filters_on_the_service(built):
    """Each series a panel reads carries job=~"$service" (documented queries stay verbatim)."""
    for slug, title, ref, expr in _exprs(built):
        if expr in catalog.DOCUMENTED_QUERIES:
            continue
        selectors = SELECTOR.findall(expr)
        assert selectors, f"{slug} / {title} / {ref}: {expr}"
        for series, matchers in selectors:
            assert matchers.startswith('{job=~"$service"'), (
                f"{slug} / {title} / {ref}: {series} ignores $service in {expr}")


def test_overview_token_panels_use_the_documented_queries_verbatim(built):
    overview = [e for s, _, _, e in _exprs(built) if s == "llama-stack-overview"]
    for query in catalog.DOCUMENTED_QUERIES[:2]:
        assert query in overview


# Each documented query, verbatim or as the equivalent the dashboard runs with
# variables and $__rate_interval: (dashboard, substrings one expr must contain).
EQUIVALENTS = {
    catalog.DOCUMENTED_QUERIES[2]: ("llama-stack-overview", [
        "histogram_quantile(0.95,", f"rate({catalog.HTTP_SERVER_DURATION.bucket}{{",
        "}[$__rate_interval])"]),
    catalog.DOCUMENTED_QUERIES[3]: ("llama-stack-inference", [
        "histogram_quantile(0.99,", f"rate({catalog.INFERENCE_DURATION.bucket}{{"]),
    catalog.DOCUMENTED_QUERIES[4]: ("llama-stack-tool-runtime", [
        f"rate({catalog.TOOL_INVOCATIONS.prometheus_name}{{"]),
    catalog.DOCUMENTED_QUERIES[5]: ("llama-stack-vector-io", [
        f"rate({catalog.VECTOR_INSERTS.prometheus_name}{{"]),
}


@pytest.mark.parametrize("query", catalog.DOCUMENTED_QUERIES)
def test_documented_queries_are_covered(query, built):
    exprs = list(_exprs(built))
    if any(e == query for *_, e in exprs):
        return
    slug, parts = EQUIVALENTS[query]
    assert any(s == slug and all(p in e for p in parts) for s, _, _, e in exprs), (
        f"no panel in {slug} covers {query!r}")


def test_overview_links_to_every_detail_dashboard_and_jaeger():
    overview = _load("llama-stack-overview")
    urls = [link["url"] for p in overview["panels"] for link in p.get("links", [])]
    for slug in SLUGS[1:]:
        assert any(f"/d/{slug}/" in u for u in urls), slug
    assert any(d.JAEGER_DATASOURCE_UID in u for u in urls)


def _jaeger_links(dashboard: dict) -> list[dict]:
    panel_links = [link for p in dashboard["panels"] for link in p.get("links", [])]
    return [link for link in dashboard["links"] + panel_links
            if link["title"] == "Traces in Jaeger"]


def _grafana_link(url: str, service: str) -> str:
    """The URL as Grafana renders it: ${service:percentencode} and the time range filled in."""
    url = url.replace("${service:percentencode}", urllib.parse.quote(service, safe=""))
    return url.replace("${__from}", "1700000000000").replace("${__to}", "1700003600000")


def test_overview_jaeger_link_searches_the_selected_service():
    overview = _load("llama-stack-overview")
    links = _jaeger_links(overview)
    assert [link.get("type") for link in links[:1]] == ["link"], "no dashboard-level link"
    assert len(links) > 1, "no panel-level link"
    assert "service" in {v["name"] for v in overview["templating"]["list"]}
    for link in links:
        url = link["url"]
        assert "${service:percentencode}" in url
        # Only Grafana's tokens are left unencoded; the panes JSON around them is encoded.
        bare = url.replace("${service:percentencode}", "")
        bare = bare.replace("${__from}", "").replace("${__to}", "")
        assert not set('{}"[]: ') & set(bare), url
        assert link["targetBlank"] is True
        if link.get("type") == "link":
            # var-* parameters mean nothing to Explore; the time range is in the pane.
            assert link["includeVars"] is False and link["keepTime"] is False

        rendered = urllib.parse.urlsplit(_grafana_link(url, 'my svc/1'))
        assert rendered.path == "/explore"
        params = urllib.parse.parse_qs(rendered.query, strict_parsing=True)
        assert params["schemaVersion"] == ["1"]
        (panes,) = params["panes"]
        (pane,) = json.loads(panes).values()
        assert pane["datasource"] == d.JAEGER_DATASOURCE_UID
        (query,) = pane["queries"]
        assert query["queryType"] == "search"
        assert query["service"] == "my svc/1"
        assert query["datasource"] == {"type": "jaeger", "uid": d.JAEGER_DATASOURCE_UID}
        assert pane["range"] == {"from": "1700000000000", "to": "1700003600000"}


def test_vector_io_uses_the_real_retrieval_metric(built):
    text = d.render(built["llama-stack-vector-io"])
    assert catalog.VECTOR_RETRIEVAL_DURATION.bucket in text
    assert "query_duration" not in text


def _promql(text: str) -> str:
    """Make a Grafana query plain PromQL: built-in windows -> fixed, variables -> .*"""
    text = text.replace("$__rate_interval", "1m").replace("$__range", "1h")
    text = text.replace("$__interval", "1m")
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", ".*", text)


def test_every_query_is_valid_promql(built, tmp_path):
    """Checked by the promtool of the pinned Prometheus release, built from its Go module."""
    from tests.engine import programs

    if programs.go_command() is None:
        skip_or_fail("go", "Go is not installed: promtool cannot be built")
    promtool = str(programs.tool_path("prometheus", "promtool"))
    checks: dict[str, str] = {}
    rules = []
    for slug, title, ref, expr in _exprs(built):
        name = f"check_{len(rules) + 1}"
        checks[name] = f"{slug} / {title} / {ref}: {expr}"
        rules.append({"record": name, "expr": _promql(expr)})
    for slug, var, query in _variable_queries(built):
        selector = re.fullmatch(r"label_values\((.+), *[a-z_]+\)", query)
        assert selector, f"{slug} / variable {var}: {query}"
        name = f"check_{len(rules) + 1}"
        checks[name] = f"{slug} / variable {var}: {query}"
        rules.append({"record": name, "expr": _promql(selector.group(1))})
    path = tmp_path / "dashboard-queries.rules.yml"
    # JSON is YAML, so promtool reads this file as a rules file.
    path.write_text(json.dumps({"groups": [{"name": "dashboards", "rules": rules}]}, indent=1))
    result = subprocess.run([promtool, "check", "rules", str(path)],
                            capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        failed = sorted(set(re.findall(r'"(check_\d+)"', output)), key=lambda n: int(n[6:]))
        details = "\n".join(checks[n] for n in failed) or output
        pytest.fail(f"promtool rejected dashboard queries:\n{details}\n\n{output}")
    assert f"SUCCESS: {len(rules)} rules found" in output
