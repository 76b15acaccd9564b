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
from telemetry_stack.dashboards import promql
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
# A series name, or a __name__ regex over both servers' names: (ogx|llama_stack)_x(_count)?
SERIES = re.compile(r"(?:\(ogx\|llama_stack\)_|\b(?:ogx|llama_stack)_)[a-z0-9_]+(?:\(_count\)\?)?")


def _names(pattern: str) -> set[str]:
    """The series names a SERIES match stands for."""
    stems = (
        {pattern.replace("(_count)?", ""), pattern.replace("(_count)?", "_count")}
        if "(_count)?" in pattern
        else {pattern}
    )
    return (
        {s.replace("(ogx|llama_stack)_", p) for s in stems for p in ("ogx_", "llama_stack_")}
        if "(ogx|" in pattern
        else stems
    )


def _known_series() -> set[str]:
    """Classic series of every instrument for each server, plus native histograms' base names."""
    names: set[str] = set()
    for server in catalog.SERVERS:
        names |= catalog.all_series_names(server)
        names |= {
            i.prometheus_name(server)
            for i in catalog.INSTRUMENTS
            if i.kind == catalog.HISTOGRAM and i.defined_by(server)
        }
    return names


DOCUMENTED = {q for queries in catalog.DOCUMENTED_QUERIES.values() for q in queries}
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
        f"{path} is stale or hand-edited: run python scripts/build_dashboards.py"
    )


def test_no_other_dashboard_files():
    assert sorted(p.stem for p in DASHBOARD_DIR.glob("*.json")) == sorted([*SLUGS, "llama-stack-logs"])


def test_the_logs_board_file_matches_its_builder():
    from telemetry_stack.dashboards import logs

    path = DASHBOARD_DIR / "llama-stack-logs.json"
    assert path.read_text(encoding="utf-8") == d.render(logs.logs()), "run python scripts/build_dashboards.py"


@pytest.mark.parametrize("slug", SLUGS)
def test_dashboard_conventions(slug):
    dash = _load(slug)
    assert dash["uid"] == slug
    assert dash["title"].startswith("Llama Stack / ")
    assert dash["tags"] == ["llama-stack", "llama-telemetry"]
    assert dash["time"] == {"from": "now-1h", "to": "now"}
    assert dash["refresh"] == "30s"
    assert dash["schemaVersion"] == 42  # Grafana 12.4's latest (@grafana/schema 12.4: defaultDashboard.schemaVersion)
    assert isinstance(dash["editable"], bool)
    assert dash["panels"]
    links = dash["links"]
    assert {"type": "dashboards", "tags": ["llama-stack"], "asDropdown": False}.items() <= (links[0].items())
    assert any(d.JAEGER_DATASOURCE_UID in link.get("url", "") for link in links)

    variables = {v["name"]: v for v in dash["templating"]["list"]}
    ds = variables["datasource"]
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"
    assert ds["current"]["value"] == d.PROMETHEUS_DATASOURCE_UID
    for var in variables.values():
        if var["type"] == "query" and var["name"] != d.TRACE_SERVICE_VARIABLE:
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
    assert service["definition"] == 'label_values({__name__=~"(ogx|llama_stack)_requests_total"}, job)'
    assert not service["multi"] and service["current"]["value"] == "$__all"
    trace = query_vars[1]
    assert (trace["name"], trace["hide"], trace["multi"], trace["includeAll"]) == ("trace_service", 2, False, False)
    for var in query_vars[1:]:
        assert 'job=~"$service"' in var["definition"], var["name"]


@pytest.mark.parametrize("slug", ["llama-stack-overview", "llama-stack-inference"])
def test_model_and_provider_variables(slug):
    variables = {v["name"]: v for v in _load(slug)["templating"]["list"]}
    for name in ("model", "provider"):
        assert '"(ogx|llama_stack)_inference_duration_seconds(_count)?"' in variables[name]["definition"]


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
    known = _known_series()
    used: set[str] = set()
    texts = [(f"{s} / {t} / {r}", e) for s, t, r, e in _exprs(built)]
    texts += [(f"{s} / variable {n}", q) for s, n, q in _variable_queries(built)]
    for where, text in texts:
        patterns = SERIES.findall(text)
        assert patterns, f"{where}: no ogx_ or llama_stack_ series in {text!r}"
        names = set().union(*map(_names, patterns))
        unknown = names - known
        assert not unknown, f"{where}: series not derived from the catalog: {unknown}"
        used |= names
    unused = [i.name for i in catalog.INSTRUMENTS if not used & set(i.series_names(i.dashboard_servers[0]))]
    assert not unused, f"catalog instruments on no panel: {unused}"


def test_no_doubled_prefix_anywhere():
    for slug in SLUGS:
        text = (DASHBOARD_DIR / f"{slug}.json").read_text()
        for doubled in ("llama_stack_llama_stack", "ogx_ogx", "ogx_llama_stack", "llama_stack_ogx"):
            assert doubled not in text, (slug, doubled)


def test_rate_windows_are_not_hard_coded(built):
    for slug, title, ref, expr in _exprs(built):
        if expr in DOCUMENTED:
            continue
        assert not FIXED_WINDOW.search(expr), f"{slug} / {title} / {ref}: {expr}"
        if "rate(" in expr or "increase(" in expr:
            assert "$__rate_interval" in expr or "$__range" in expr, f"{slug} / {title}"


def test_variables_are_honoured(built):
    for slug, dash in built.items():
        names = [
            v["name"]
            for v in dash["templating"]["list"]
            if v["type"] == "query" and v["name"] != d.TRACE_SERVICE_VARIABLE
        ]  # that one is for links
        exprs = " ".join(t["expr"] for p in dash["panels"] for t in p["targets"])
        for name in names:
            assert f'=~"${name}"' in exprs, f"{slug}: variable {name} unused"


SELECTOR = re.compile(r'\b((?:ogx|llama_stack)_[a-z0-9_]+)(\{[^}]*\})?|(\{__name__=~"[^"]+",)([^}]*\})')


def test_every_selector_filters_on_the_service(built):
    """Each series a panel reads carries job=~"$service" (documented queries stay verbatim)."""
    for slug, title, ref, expr in _exprs(built):
        if expr in DOCUMENTED:
            continue
        selectors = SELECTOR.findall(expr)
        assert selectors, f"{slug} / {title} / {ref}: {expr}"
        for series, matchers, by_name, name_matchers in selectors:
            rest = matchers if series else "{" + name_matchers
            assert rest.startswith('{job=~"$service"'), (
                f"{slug} / {title} / {ref}: {series or by_name} ignores $service in {expr}"
            )


def test_overview_token_panels_use_the_documented_queries_verbatim(built):
    overview = [e for s, _, _, e in _exprs(built) if s == "llama-stack-overview"]
    for query in catalog.DOCUMENTED_QUERIES["ogx"][:2]:
        assert query in overview


def test_overview_links_to_every_detail_dashboard_and_jaeger():
    overview = _load("llama-stack-overview")
    urls = [link["url"] for p in overview["panels"] for link in p.get("links", [])]
    for slug in SLUGS[1:]:
        assert any(f"/d/{slug}/" in u for u in urls), slug
    assert any(d.JAEGER_DATASOURCE_UID in u for u in urls)


def _jaeger_links(dashboard: dict) -> list[dict]:
    panel_links = [link for p in dashboard["panels"] for link in p.get("links", [])]
    return [link for link in dashboard["links"] + panel_links if link["title"] == "Traces in Jaeger"]


def _grafana_link(url: str, service: str) -> str:
    """The URL as Grafana renders it: ${service:percentencode} and the time range filled in."""
    url = url.replace("${trace_service:percentencode}", urllib.parse.quote(service, safe=""))
    return url.replace("${__from}", "1700000000000").replace("${__to}", "1700003600000")


def test_overview_jaeger_link_searches_the_selected_service():
    overview = _load("llama-stack-overview")
    links = _jaeger_links(overview)
    assert [link.get("type") for link in links[:1]] == ["link"], "no dashboard-level link"
    assert len(links) > 1, "no panel-level link"
    assert "service" in {v["name"] for v in overview["templating"]["list"]}
    for link in links:
        url = link["url"]
        assert "${trace_service:percentencode}" in url
        # Only Grafana's tokens are left unencoded; the panes JSON around them is encoded.
        bare = url.replace("${trace_service:percentencode}", "")
        bare = bare.replace("${__from}", "").replace("${__to}", "")
        assert not set('{}"[]: ') & set(bare), url
        assert link["targetBlank"] is True
        if link.get("type") == "link":
            # var-* parameters mean nothing to Explore; the time range is in the pane.
            assert link["includeVars"] is False and link["keepTime"] is False

        rendered = urllib.parse.urlsplit(_grafana_link(url, "my svc/1"))
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
    assert "(ogx|llama_stack)_vector_io_retrieval_duration_seconds_bucket" in text
    assert "query_duration" not in text


def _promql(text: str) -> str:
    """Make a Grafana query plain PromQL: built-in windows -> fixed, variables -> .*"""
    text = text.replace("$__rate_interval", "1m").replace("$__range", "1h")
    text = text.replace("$__interval", "1m")
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", ".*", text)


@pytest.mark.slow  # the first run builds promtool from Prometheus's Go module
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
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        failed = sorted(set(re.findall(r'"(check_\d+)"', output)), key=lambda n: int(n[6:]))
        details = "\n".join(checks[n] for n in failed) or output
        pytest.fail(f"promtool rejected dashboard queries:\n{details}\n\n{output}")
    assert f"SUCCESS: {len(rules)} rules found" in output


def _stats(built):
    for slug, dash in built.items():
        for panel in dash["panels"]:
            if panel["type"] == "stat":
                yield slug, panel


def test_every_stat_states_its_thresholds(built):
    """Grafana's default turns any stat red at 80: an error rate must turn red, a count must never."""
    for slug, panel in _stats(built):
        where = f"{slug} / {panel['title']}"
        thresholds = panel["fieldConfig"]["defaults"].get("thresholds")
        assert thresholds and thresholds["mode"] == "absolute", where
        steps = thresholds["steps"]
        assert steps[0]["value"] is None, where
        values = [s["value"] for s in steps[1:]]
        assert values == sorted(values), where
        reds = [s["value"] for s in steps if s["color"] == "red"]
        if panel["title"] == "Error rate":
            assert panel["fieldConfig"]["defaults"]["unit"] == "percentunit", where
            assert steps[0]["color"] == "green" and reds and 0 < reds[0] <= 0.1, where
        else:
            assert not reds, f"{where}: a {panel['fieldConfig']['defaults']['unit']} value never turns red"


def test_latency_panels_show_the_exact_average_first(built):
    for slug, dash in built.items():
        for panel in dash["panels"]:
            if "p50" in panel["title"] or "percentile" in panel["title"].lower():
                first = panel["targets"][0]
                assert first["legendFormat"] == "average", (slug, panel["title"])
                assert "_sum" in first["expr"] and "_count" in first["expr"], (slug, panel["title"])
                assert "histogram_avg(" in first["expr"], (slug, panel["title"])


def test_histogram_queries_read_classic_and_native_histograms(built):
    """Every classic histogram series a query reads has its native histogram beside it (same base name)."""
    for slug, title, ref, expr in _exprs(built):
        if expr in DOCUMENTED:
            continue
        for base in re.findall(r"([a-z0-9_|()]+)_(?:bucket|sum|count)(?=[\"{])", expr):
            assert f'{base}",' in expr or f"{base}{{" in expr, f"{slug} / {title} / {ref}: no native half for {base}"
        if "_bucket" in expr:
            assert expr.count("histogram_quantile(") == 2, f"{slug} / {title} / {ref}"


@pytest.mark.parametrize(("job", "jaeger_service"), [("ogx", "ogx"), ("prod/ogx", "ogx"), ("a/b/c", "c")])
def test_trace_service_drops_the_service_namespace(job, jaeger_service):
    """The collector names the job namespace/name; Jaeger knows the service by its name alone."""
    variable = next(v for v in _load("llama-stack-overview")["templating"]["list"] if v["name"] == "trace_service")
    pattern = variable["regex"]
    assert pattern.startswith("/") and pattern.endswith("/")
    match = re.search(pattern[1:-1], job)
    assert match and match.group(1) == jaeger_service


def test_panels_of_instruments_only_ogx_emits_say_so(built):
    only_ogx = [i for i in catalog.INSTRUMENTS if i.servers == (catalog.OGX,)]
    assert len(only_ogx) == 4
    for slug, title, _ref, expr in _exprs(built):
        panel = next(p for p in built[slug]["panels"] if p["title"] == title)
        reads_only_ogx = any(f"{i.prometheus_name(catalog.OGX)}{{" in expr for i in only_ogx)
        assert reads_only_ogx == panel["description"].startswith("Emitted by OGX only"), (slug, title)


# The histogram helpers, written out: a classic half over both servers' names and a native half joined by `or`.
SEL = '{__name__=~"(ogx|llama_stack)_inference_duration_seconds%s",job=~"$service",model=~"$model"}'
RATE = "rate(%s[$__rate_interval])"


def test_histogram_helpers_literally():
    inst = catalog.INFERENCE_DURATION
    classic, native = SEL % "_count", SEL % ""
    assert promql._observations(inst, ["model"]) == f"(sum({RATE % classic}) or histogram_count(sum({RATE % native})))"
    assert promql._average(inst, ["model"], by=["provider"]) == (
        f"((sum by (provider) ({RATE % (SEL % '_sum')}) / sum by (provider) ({RATE % classic})) or "
        f"histogram_avg(sum by (provider) ({RATE % native})))"
    )
    assert promql._quantile(0.95, inst, ["model"]) == (
        f"(histogram_quantile(0.95, sum by (le) ({RATE % (SEL % '_bucket')})) or "
        f"histogram_quantile(0.95, sum({RATE % native})))"
    )
    tokens = catalog.GEN_AI_TOKEN_USAGE
    assert promql._sum_rate(tokens, by=["gen_ai.token.type"]) == (
        '(sum by (gen_ai_token_type) (rate(ogx_gen_ai_client_token_usage_sum{job=~"$service"}[$__rate_interval])) or '
        'histogram_sum(sum by (gen_ai_token_type) (rate(ogx_gen_ai_client_token_usage{job=~"$service"}[$__rate_interval]))))'
    )
