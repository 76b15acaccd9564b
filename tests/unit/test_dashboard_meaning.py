"""Every dashboard query, checked against what the real collector exports, for what it means and not only for a number.

The series are tests/data/collector_series.prom.gz, captured from the real OpenTelemetry Collector (configured as
``llama-telemetry`` renders it) fed by the demo by ``scripts/capture_collector_series.py``: four apps, OGX-named and
Llama Stack-named, with the servers' own buckets and with exponential histograms. Every metric and label name these
tests look for comes from that data or from the dashboards themselves, never from the catalog, so a dashboard that
agrees with the catalog but not with the collector fails here. Queries are evaluated by the small PromQL evaluator of
tests/captured_prometheus.py, as Grafana sends them (variables at "All", or the service set to one app).
"""

from __future__ import annotations

import json
import math
import re
import subprocess

import pytest

from telemetry_stack import catalog
from telemetry_stack import dashboards as d
from telemetry_stack.services import IMAGES
from tests import captured_prometheus as cp
from tests.conftest import skip_or_fail
from tests.dashboard_queries import grafana_interpolate, query_variables

CAPTURED = cp.load()
EVALUATE = cp.Evaluator(CAPTURED)
DASHBOARDS = d.build_all()
# The apps the capture sent (scripts/capture_collector_series.py): job label -> whose names they send.
APPS = {
    "ogx-demo": "ogx",
    "llama-stack-demo": "llama-stack",
    "prod/ogx-exponential": "ogx",
    "llama-stack-exponential": "llama-stack",
}
EXPONENTIAL_APPS = ("prod/ogx-exponential", "llama-stack-exponential")
SERVICES = ("All", *APPS)
OGX_ONLY = "Emitted by OGX only"  # how a panel of an instrument Llama Stack lacks says so
PERCENTILE = re.compile(r"^p(\d+)\b")
LEGEND_LABEL = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
LABEL_VALUES = re.compile(r"label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)")


# --- the queries, as Grafana sends them ---------------------------------------------------------------------------


def _prometheus(thing: dict, default: dict | None = None) -> bool:
    return (thing.get("datasource") or default or {}).get("type") == "prometheus"


def _targets(slug: str):
    """(where, panel, target) of every Prometheus query of a dashboard's panels."""
    for panel in DASHBOARDS[slug]["panels"]:
        for target in panel["targets"]:
            if _prometheus(target, panel.get("datasource")):
                yield f"{slug} / {panel['title']} / {target['refId']}", panel, target


def _query(slug: str, expr: str, service: str = "All") -> str:
    """The PromQL Grafana sends for ``expr``: every variable at All, or the service at one app."""
    selected = {} if service == "All" else {d.SERVICE_VARIABLE: service}
    return grafana_interpolate(expr, set(query_variables(DASHBOARDS[slug])), selected)


def _variable_selectors(slug: str):
    """(where, selector PromQL, label) of every label_values() variable of a dashboard, variables at All."""
    for name, variable in query_variables(DASHBOARDS[slug]).items():
        if not _prometheus(variable):
            continue
        match = LABEL_VALUES.fullmatch(variable["definition"])
        assert match, f"{slug} / variable {name}: {variable['definition']}"
        yield f"{slug} / variable {name}", _query(slug, match[1]), match[2]


def _all_queries(slug: str):
    """(where, PromQL) of every query of a dashboard: panel targets and variable selectors, at All."""
    for where, _panel, target in _targets(slug):
        yield where, _query(slug, target["expr"])
    for where, selector, _label in _variable_selectors(slug):
        yield where, selector


def _selectors(query: str) -> list[cp.Selector]:
    return [node for node in cp.walk(cp.parse(query)) if isinstance(node, cp.Selector)]


def _names(selector: cp.Selector) -> set[str]:
    """The captured names a selector can match (all it can name when its name regex is finite)."""
    names = cp.selector_names(selector)
    if names is None:
        return {n for n in CAPTURED.names if all(m.matches(n) for m in selector.name_matchers)}
    return names


def _values(result: cp.Vector) -> list[float]:
    return [e.value for e in result if isinstance(e.value, float)]


def _has_number(result: cp.Vector) -> bool:
    return any(math.isfinite(v) for v in _values(result))


def _ogx_only(panel: dict) -> bool:
    return panel["description"].startswith(OGX_ONLY)


# --- the captured data ----------------------------------------------------------------------------------------


def test_the_capture_is_of_the_pinned_collector_with_four_apps():
    """Re-run scripts/capture_collector_series.py when the collector release changes: this fails until then."""
    assert any(f"OpenTelemetry Collector {IMAGES['otel-collector'].tag}," in line for line in CAPTURED.header), (
        CAPTURED.header
    )
    assert CAPTURED.values_of("job") == set(APPS)
    for job in APPS:
        mine = [s for s in CAPTURED.series if s.labels.get("job") == job]
        natives = [s for s in mine if isinstance(s.value, cp.Native)]
        buckets = [s for s in mine if s.labels[cp.NAME].endswith("_bucket")]
        if job in EXPONENTIAL_APPS:
            assert natives and not buckets, f"{job}: exponential histograms should arrive as native histograms only"
        else:
            assert buckets and not natives, f"{job}: the servers' buckets should arrive as classic histograms"


def test_each_apps_own_metrics_carry_one_prefix_and_auto_instrumentation_both():
    """The collector keeps a server's own prefix once and copies every other metric under both prefixes."""
    for job, naming in APPS.items():
        names = {s.labels[cp.NAME] for s in CAPTURED.series if s.labels.get("job") == job}
        own, other = ("ogx_", "llama_stack_") if naming == "ogx" else ("llama_stack_", "ogx_")
        assert not [n for n in names if n.startswith(("ogx_ogx", "ogx_llama", "llama_stack_ogx", "llama_stack_llama"))]
        only_own = {n[len(own) :] for n in names if n.startswith(own)} - {n[len(other) :] for n in names}
        copied = {n[len(other) :] for n in names if n.startswith(other)}
        assert only_own and copied, job
        assert all(stem.startswith(("gen_ai_", "http_server_")) for stem in copied), (job, copied)
        assert not [stem for stem in only_own if stem.startswith(("gen_ai_", "http_server_"))], (job, only_own)


def test_the_catalog_names_what_the_collector_exports():
    """The README's metrics table (generated from the catalog) against the collector: every series and label the
    catalog names for a server is what the collector made of that server's app, and the collector made no other."""
    target_labels = {"job", "instance", "le", "otel_scope_name", "otel_scope_version", "otel_scope_schema_url"}
    for server in catalog.SERVERS:
        jobs = {job for job, naming in APPS.items() if naming == server.key}
        exported: dict[str, set[str]] = {}
        for series in CAPTURED.series:
            if series.labels.get("job") in jobs and series.labels[cp.NAME].startswith(server.series_prefix):
                exported.setdefault(series.labels[cp.NAME], set()).update(series.plain)
        named = {}
        for instrument in catalog.INSTRUMENTS:
            if instrument.defined_by(server):
                names = set(instrument.series_names(server))
                if instrument.kind == catalog.HISTOGRAM:
                    names.add(instrument.prometheus_name(server))  # the native histogram
                named.update(dict.fromkeys(names, set(instrument.labels)))
        assert set(exported) == set(named), f"{server.title}: {set(exported) ^ set(named)}"
        for name, labels in exported.items():
            assert labels - target_labels == named[name], f"{name}: {sorted(labels - target_labels)}"


# --- names and labels: every query reads series that exist ------------------------------------------------------


@pytest.mark.parametrize("slug", d.SLUGS)
def test_every_name_a_selector_can_match_was_captured(slug):
    """Each name a selector names, each alternative of a ``__name__=~`` regex included, is a captured series."""
    failures = []
    for where, query in _all_queries(slug):
        for selector in _selectors(query):
            names = cp.selector_names(selector)
            if names is None:
                if not _names(selector):
                    failures.append(f"{where}: no captured name matches {selector.name_matchers}")
                continue
            missing = sorted(names - CAPTURED.names)
            if missing:
                failures.append(f"{where}: {missing} never came out of the collector")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("slug", d.SLUGS)
def test_every_label_a_selector_matches_on_was_captured(slug):
    """A matcher on a label no series of that name has matches everything (=~".*") or nothing: a wrong name."""
    failures = []
    for where, query in _all_queries(slug):
        for selector in _selectors(query):
            for name in sorted(_names(selector) & CAPTURED.names):
                missing = [m.label for m in selector.label_matchers if m.label not in CAPTURED.labels_of(name)]
                if missing:
                    failures.append(f"{where}: {name} has no label {missing}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("slug", d.SLUGS)
def test_every_grouping_label_is_on_the_series_it_groups(slug):
    """``by (x)`` groups series that all carry x; ``without (x)`` drops a label some of them carry."""
    failures = []
    for where, query in _all_queries(slug):
        for node in cp.walk(cp.parse(query)):
            if not isinstance(node, cp.Aggregate) or not node.grouping:
                continue
            grouped = EVALUATE.vector(node.expr)
            if not grouped:
                failures.append(f"{where}: nothing to group in {node.op} by {node.grouping}")
                continue
            for label in node.grouping:
                carrying = [e for e in grouped if label in e.labels]
                if node.without and not carrying:
                    failures.append(f"{where}: without ({label}), a label none of the series has")
                elif not node.without and len(carrying) < len(grouped):
                    failures.append(f"{where}: by ({label}), a label {len(grouped) - len(carrying)} series lack")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("slug", d.SLUGS)
def test_every_legend_label_is_on_every_series_the_query_returns(slug):
    failures = []
    for where, panel, target in _targets(slug):
        labels = LEGEND_LABEL.findall(target["legendFormat"])
        if not labels:
            continue
        for service in SERVICES:
            if _ogx_only(panel) and APPS.get(service) == "llama-stack":
                continue
            result = EVALUATE.vector(_query(slug, target["expr"], service))
            for label in labels:
                lacking = [e.labels for e in result if label not in e.labels]
                if lacking or not result:
                    failures.append(f"{where} ({service}): legend {{{{{label}}}}} but the series are {lacking}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("slug", d.SLUGS)
def test_every_template_variable_lists_a_captured_label(slug):
    failures = []
    for where, selector, label in _variable_selectors(slug):
        series = CAPTURED.select(cp.parse(selector))
        values = CAPTURED.values_of(label, series)
        if not series or not values:
            failures.append(f"{where}: label_values({selector}, {label}) lists nothing from the captured series")
        if label == d.SERVICE_LABEL and values != set(APPS):
            failures.append(f"{where}: lists {sorted(values)}, not every app that sent metrics")
    assert not failures, "\n".join(failures)


def test_every_captured_instrument_is_on_a_dashboard():
    """Each family the collector exported is read by some query, under one of the two prefixes at least."""
    read: set[str] = set()
    for slug in d.SLUGS:
        for _where, query in _all_queries(slug):
            for selector in _selectors(query):
                read |= _names(selector)
    stems: dict[str, bool] = {}
    for family, kind in CAPTURED.types.items():
        series = {family, f"{family}_bucket", f"{family}_sum", f"{family}_count"} if kind == "histogram" else {family}
        stem = re.sub(r"^(ogx|llama_stack)_", "", family)
        stems[stem] = stems.get(stem, False) or bool(series & read)
    unread = sorted(stem for stem, used in stems.items() if not used)
    assert not unread, f"captured metrics no dashboard shows: {unread}"


# --- data: each app alone and all together ---------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("slug", d.SLUGS)
def test_every_query_returns_a_number_for_each_app_and_for_all(slug, service):
    """As tests/engine/test_pipeline.py on the real Prometheus: a Llama Stack app has no data only on the panels of
    the instruments OGX 1.5 added, and none there."""
    failures = []
    for where, panel, target in _targets(slug):
        result = EVALUATE.vector(_query(slug, target["expr"], service))
        if _ogx_only(panel) and APPS.get(service) == "llama-stack":
            if result:
                failures.append(f"{where}: an OGX-only panel shows Llama Stack data {result}")
        elif not _has_number(result):
            failures.append(f"{where}: no number for {service}: {result}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("server", "query"), [(s, q) for s, queries in catalog.DOCUMENTED_QUERIES.items() for q in queries]
)
def test_documented_query_reads_captured_series(server, query):
    """The PromQL each server's documentation prints, as written, finds the collector's series."""
    for selector in _selectors(query):
        assert _names(selector) <= CAPTURED.names, f"{server}: {query} names a series the collector never made"
    assert _has_number(EVALUATE.vector(query)), f"{server}: no number for {query}"


# --- meaning ----------------------------------------------------------------------------------------------------------


def _ratio_targets():
    for slug in d.SLUGS:
        for where, panel, target in _targets(slug):
            if panel["fieldConfig"]["defaults"]["unit"] == "percentunit":
                yield pytest.param(slug, target["expr"], id=where)


def _same_but_selectors(a: cp.Node, b: cp.Node) -> bool:
    """The two trees are equal once every selector of ``a`` is replaced by the one at its place in ``b``."""
    replacements = iter(_selectors_of(b))
    replaced = cp.transform(a, lambda n: next(replacements) if isinstance(n, cp.Selector) else None)
    return replaced == b


def _selectors_of(node: cp.Node) -> list[cp.Selector]:
    return [n for n in cp.walk(node) if isinstance(n, cp.Selector)]


@pytest.mark.parametrize(("slug", "expr"), list(_ratio_targets()))
def test_error_ratios_are_failures_over_all_requests_of_the_same_kind(slug, expr):
    """``(errors or total * 0) / total``: the errors are the total's own series narrowed to failures, grouped alike,
    so the ratio lies in [0, 1] for every app, and the demo's failures show."""
    tree = cp.parse(_query(slug, expr))
    assert isinstance(tree, cp.Binary) and tree.op == "/", f"not a ratio: {expr}"
    numerator, total = tree.lhs, tree.rhs
    assert isinstance(numerator, cp.Binary) and numerator.op == "or", f"no `or total * 0` (no 0 without errors): {expr}"
    errors, zero = numerator.lhs, numerator.rhs
    assert zero == cp.Binary("*", total, cp.Number(0.0)), f"the fallback is not the total times 0: {expr}"
    assert _same_but_selectors(errors, total), f"errors and total differ in more than their matchers: {expr}"
    for narrow, wide in zip(_selectors_of(errors), _selectors_of(total), strict=True):
        extra = set(narrow.matchers) - set(wide.matchers)
        assert set(wide.matchers) < set(narrow.matchers), f"{narrow} does not narrow {wide}"
        selected, everything = CAPTURED.select(narrow), CAPTURED.select(wide)
        assert set(map(id, selected)) < set(map(id, everything)), f"{narrow} selects no strict subset of {wide}"
        statuses = CAPTURED.values_of("status", selected)
        assert statuses == {"error"}, f"the errors {extra} select series of status {statuses}"
        assert CAPTURED.values_of("status", everything) == {"error", "success"}, wide
    for service in SERVICES:
        values = _values(EVALUATE.vector(_query(slug, expr, service)))
        assert values, f"no ratio for {service}: {expr}"
        assert all(0 <= v <= 1 for v in values), f"a ratio outside [0, 1] for {service}: {values}"
    assert max(_values(EVALUATE.vector(_query(slug, expr)))) > 0, "the demo's failures do not show"


def _percentile_panels():
    for slug in d.SLUGS:
        for panel in DASHBOARDS[slug]["panels"]:
            if sum(1 for t in panel["targets"] if PERCENTILE.match(t["legendFormat"])) >= 2:
                yield pytest.param(slug, panel["title"], id=f"{slug} / {panel['title']}")


def _quantiles(node: cp.Node) -> set[float]:
    calls = [n for n in cp.walk(node) if isinstance(n, cp.Call) and n.function == "histogram_quantile"]
    return {q.value for q in (c.args[0] for c in calls) if isinstance(q, cp.Number)} if calls else set()


def _at_quantile(node: cp.Node, q: float) -> cp.Node:
    """The tree with every histogram_quantile asking for ``q``."""

    def change(n: cp.Node) -> cp.Node | None:
        if isinstance(n, cp.Call) and n.function == "histogram_quantile":
            return cp.Call(n.function, (cp.Number(q), cp.transform(n.args[1], change)))
        return None

    return cp.transform(node, change)


@pytest.mark.parametrize(("slug", "title"), list(_percentile_panels()))
def test_percentiles_are_what_their_legends_say_and_in_order(slug, title):
    """pNN reads histogram_quantile(NN/100) of the same histogram as its siblings, so p50 <= p95 <= p99 whether
    the app sends classic buckets or native histograms."""
    panel = next(p for p in DASHBOARDS[slug]["panels"] if p["title"] == title)
    legends = [t["legendFormat"] for t in panel["targets"] if PERCENTILE.match(t["legendFormat"])]
    assert len(legends) == len(set(legends)), f"a percentile shown twice: {legends}"
    promised = set(re.findall(r"\bp(\d+)\b", title))
    assert promised == {PERCENTILE.match(legend)[1] for legend in legends}, f"the title promises p{promised}: {legends}"
    series: dict[str, list[tuple[float, str]]] = {}  # legend after pNN (the histogram) -> (q, expr)
    for target in panel["targets"]:
        match = PERCENTILE.match(target["legendFormat"])
        if not match:
            continue
        q = int(match[1]) / 100
        tree = cp.parse(_query(slug, target["expr"]))
        assert _quantiles(tree) == {q}, f"{target['legendFormat']} asks for the quantiles {_quantiles(tree)}"
        series.setdefault(target["legendFormat"][match.end() :], []).append((q, target["expr"]))
    for histogram, quantiles in series.items():
        quantiles.sort()
        first = cp.parse(_query(slug, quantiles[0][1]))
        for q, expr in quantiles[1:]:
            assert _at_quantile(first, q) == cp.parse(_query(slug, expr)), (
                f"p{q * 100:g}{histogram} reads another histogram"
            )
        for service in SERVICES:
            values = [EVALUATE.vector(_query(slug, expr, service)) for _, expr in quantiles]
            by_labels = [{e.signature: e.value for e in result} for result in values]
            assert all(by_labels) and all(r.keys() == by_labels[0].keys() for r in by_labels), (service, values)
            for signature in by_labels[0]:
                ordered = [r[signature] for r in by_labels]
                assert all(math.isfinite(v) for v in ordered), (service, histogram, ordered)
                assert ordered == sorted(ordered), f"{service}{histogram}: {[q for q, _ in quantiles]} read {ordered}"


def _histogram_call(node: cp.Node) -> bool:
    return isinstance(node, cp.Call) and node.function.startswith("histogram_")


def _latency_targets():
    for slug in d.SLUGS:
        for where, _panel, target in _targets(slug):
            tree = cp.parse(_query(slug, target["expr"]))
            if any(_histogram_call(n) for n in cp.walk(tree)):
                yield pytest.param(slug, target["expr"], id=where)


@pytest.mark.parametrize(("slug", "expr"), list(_latency_targets()))
def test_each_histogram_query_reads_classic_buckets_or_native_histograms_of_each_app(slug, expr):
    """An app with the servers' buckets is answered by the classic half of ``(classic or native)``, an app with
    exponential histograms by the native half; the other half finds nothing of that app."""
    for service in APPS:
        tree = cp.parse(_query(slug, expr, service))
        halves = [
            (n.lhs, n.rhs)
            for n in cp.walk(tree)
            if isinstance(n, cp.Binary) and n.op == "or" and _histogram_call(n.rhs)
        ]
        assert halves, f"no (classic or native) in {expr}"
        for classic, native in halves:
            answered = EVALUATE.vector(classic), EVALUATE.vector(native)
            expected = (False, True) if service in EXPONENTIAL_APPS else (True, False)
            if APPS[service] == "llama-stack" and not any(answered):
                continue  # an instrument only OGX emits
            assert tuple(bool(a) for a in answered) == expected, f"{service}: {answered}"


READINGS = {"histogram_avg": "average", "histogram_count": "observations/s", "histogram_sum": "observed/s"}


def _reading(tree: cp.Node) -> str | None:
    """What a ``(classic or histogram_X(native))`` query reads of its histogram: histogram_avg, _count or _sum."""
    if isinstance(tree, cp.Binary) and tree.op == "or" and _histogram_call(tree.rhs):
        assert isinstance(tree.rhs, cp.Call)
        return tree.rhs.function if tree.rhs.function in READINGS else None
    return None


def _reading_targets():
    for slug in d.SLUGS:
        for where, _panel, target in _targets(slug):
            if _reading(cp.parse(_query(slug, target["expr"]))):
                yield pytest.param(slug, target["expr"], id=where)


def _histogram_family(name: str) -> str | None:
    """The captured histogram family a series name belongs to (``x`` for ``x_sum``, ``x_count``, ``x_bucket``, x)."""
    for family in (name, re.sub(r"_(sum|count|bucket)$", "", name)):
        if CAPTURED.types.get(family) == "histogram":
            return family
    return None


def _observed(selectors: list[cp.Selector], grouping: tuple[str, ...]) -> dict[tuple, tuple[float, float]]:
    """Per group, (sum of the observations, their number), read straight from the captured histograms the selectors
    reach: from the classic series where the group has any (as ``or`` prefers them), else from native ones."""
    families = {f for s in selectors for f in map(_histogram_family, _names(s) & CAPTURED.names) if f}
    stems = {re.sub(r"^(ogx|llama_stack)_", "", f) for f in families}
    matchers = {s.label_matchers for s in selectors}
    assert len(stems) == 1 and len(matchers) == 1, f"one histogram, one set of matchers: {families} {matchers}"
    (label_matchers,) = matchers
    totals: dict[tuple, dict[str, list[float]]] = {}  # group -> classic/native -> [sum, count]
    for family in families:
        for name, index, kind in ((f"{family}_sum", 0, "classic"), (f"{family}_count", 1, "classic"), (family, 0, "")):
            for series in CAPTURED.by_name.get(name, []):
                if not all(m.matches(series.labels.get(m.label, "")) for m in label_matchers):
                    continue
                group = tuple(sorted((k, v) for k, v in series.labels.items() if k in grouping))
                total = totals.setdefault(group, {}).setdefault(kind or "native", [0.0, 0.0])
                if isinstance(series.value, cp.Native):
                    total[0] += series.value.sum
                    total[1] += series.value.count
                else:
                    total[index] += series.value
    observed = {}
    for group, kinds in totals.items():
        total, count = kinds.get("classic") or kinds["native"]
        observed[group] = (total, count)
    return observed


@pytest.mark.parametrize(("slug", "expr"), list(_reading_targets()))
def test_histogram_readings_are_what_the_observations_say(slug, expr):
    """For every app and group: an average is the histogram's sum of observations over their number, a rate of
    observations (requests/s) their number over the window, a rate of the observed values (tokens/s) their sum over
    the window, whichever kind of histogram the app sends."""
    for service in SERVICES:
        tree = cp.parse(_query(slug, expr, service))
        reading = _reading(tree)
        groupings = {a.grouping for a in cp.walk(tree) if isinstance(a, cp.Aggregate)}
        assert len(groupings) == 1, f"the halves group differently: {groupings}"
        selectors = _selectors_of(tree)
        (window,) = {s.range for s in selectors}
        assert window
        observed = _observed(selectors, groupings.pop())
        expected = {
            group: {"histogram_avg": total / count if count else math.nan, "histogram_count": count / window}.get(
                reading, total / window
            )
            for group, (total, count) in observed.items()
        }
        got = {e.signature: e.value for e in EVALUATE.vector(tree)}
        assert got.keys() == {g for g, v in expected.items() if not math.isnan(v)}, (service, got, expected)
        for group, value in got.items():
            assert value == pytest.approx(expected[group], rel=1e-9), (
                f"{service} {dict(group)}: the {READINGS[reading or '']} reads {value}, the observations say "
                f"{expected[group]}"
            )


def _panel_values(slug: str, title: str, service: str) -> dict[str, float]:
    panel = next(p for p in DASHBOARDS[slug]["panels"] if p["title"] == title)
    values = {}
    for target in panel["targets"]:
        (element,) = EVALUATE.vector(_query(slug, target["expr"], service))
        assert isinstance(element.value, float)
        values[target["legendFormat"]] = element.value
    return values


def test_both_http_conventions_read_seconds():
    """The older convention records milliseconds: divided by 1000 it reads what the newer one reads in seconds."""
    for service in SERVICES:
        values = _panel_values("llama-stack-overview", "HTTP server latency p95 / p99", service)
        for legend, value in values.items():
            twin = next(v for k, v in values.items() if k != legend and k.split()[0] == legend.split()[0])
            assert 0.5 < value / twin < 2, f"{service}: {legend} reads {value}, its twin {twin}"


def test_default_buckets_make_percentiles_interpolation_and_exponential_ones_real():
    """What the latency note says: with the servers' default buckets (0, 5, 10 s, ...) every time to first token
    falls in the first bucket, so p50 reads 2.5 s and p95 4.75 s whatever the latency; the average beside them is
    exact; with exponential histograms the percentiles are real."""
    title = "Time to first token: average, p50 / p95 (streaming)"
    for job in APPS:
        values = _panel_values("llama-stack-inference", title, job)
        if job in EXPONENTIAL_APPS:
            assert values["p50"] <= values["p95"] < 4, (job, values)
            assert values["average"] / 3 < values["p50"] < values["average"] * 1.5, (job, values)
        else:
            assert values["p50"] == pytest.approx(2.5) and values["p95"] == pytest.approx(4.75), (job, values)
            assert values["average"] < 2, (job, values)


# --- the evaluator itself -----------------------------------------------------------------------------------------


def test_bucket_quantile_interpolates_as_prometheus_does():
    buckets = [(1.0, 2.0), (2.0, 6.0), (4.0, 10.0), (math.inf, 10.0)]
    assert cp.bucket_quantile(0.5, buckets) == pytest.approx(1.75)  # rank 5: 3/4 of the way through (1, 2]
    assert cp.bucket_quantile(0.1, buckets) == pytest.approx(0.5)  # the first bucket starts at 0
    assert cp.bucket_quantile(1.0, buckets) == pytest.approx(4.0)  # the +Inf bucket answers its lower bound
    assert math.isnan(cp.bucket_quantile(0.5, buckets[:-1]))  # no +Inf bucket, no quantile
    assert cp.bucket_quantile(0.5, [(1.0, 5.0), (math.inf, 4.0)]) == pytest.approx(0.5)  # made monotonic


def test_native_quantile_interpolates_logarithmically_in_exponential_buckets():
    histogram = cp.Native(0, 4.0, 9.0, 0.0, 1e-128, {1: 1.0, 2: 2.0, 3: 1.0})  # (1, 2], (2, 4], (4, 8]
    assert histogram.quantile(0.5) == pytest.approx(2 * 2**0.5)  # rank 2 of 4: half way through (2, 4], in log2
    assert histogram.quantile(0.25) == pytest.approx(2.0)
    assert histogram.quantile(1.0) == pytest.approx(8.0)
    coarse = histogram.at_schema(-1)  # buckets (1, 4] and (4, 16]
    assert coarse.positive == {1: 3.0, 2: 1.0}
    assert (histogram + coarse).schema == -1 and (histogram + coarse).count == 8


def test_the_evaluator_parses_promql_and_expands_name_regexes():
    assert cp.parse('sum by (a) (rate(x{b!="c"}[1m])) or vector(0) * 2') == cp.Binary(
        "or",
        cp.Aggregate(
            "sum",
            cp.Call("rate", (cp.Selector((cp.Matcher("__name__", "=", "x"), cp.Matcher("b", "!=", "c")), 60.0),)),
            ("a",),
        ),
        cp.Binary("*", cp.Call("vector", (cp.Number(0.0),)), cp.Number(2.0)),
    )
    assert cp.regex_language("(ogx|llama_stack)_x(_count)?") == {
        "ogx_x",
        "ogx_x_count",
        "llama_stack_x",
        "llama_stack_x_count",
    }
    assert cp.regex_language("ogx_.*") is None
    with pytest.raises(cp.QueryError):
        cp.parse("sum(x) / on (a) sum(y)")


# --- the evaluator agrees with the real Prometheus ----------------------------------------------------------------

WITHOUT_RANGE = re.compile(r"\b(?:rate|increase)\((\{[^}]*\}|[a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\[[^\]]+\]\)")
PROMTOOL_RESULT = re.compile(r"^\s*(exp|got): (.*)$", re.MULTILINE)
SAMPLE = re.compile(r"(\{[^}]*\}) (\S+?)(?:,|$)")


def _promtool_series(series: cp.Series) -> dict:
    """One captured series as promtool's input_series: one sample, a native histogram in PromQL-test notation."""
    labels = ",".join(f'{k}="{json.dumps(v)[1:-1]}"' for k, v in sorted(series.plain.items()))
    value = series.value
    if isinstance(value, cp.Native):
        assert not value.negative
        low, high = min(value.positive), max(value.positive)
        buckets = " ".join(f"{value.positive.get(i, 0):g}" for i in range(low, high + 1))
        text = (
            f"{{{{schema:{value.schema} sum:{value.sum!r} count:{value.count:g} z_bucket:{value.zero_count:g} "
            f"z_bucket_w:{value.zero_threshold!r} offset:{low} buckets:[{buckets}]}}}}"
        )
    else:
        text = repr(value)
    return {"series": f"{series.labels[cp.NAME]}{{{labels}}}", "values": text}


def _close(expected: str, got: str) -> bool:
    a, b = dict(SAMPLE.findall(expected)), dict(SAMPLE.findall(got))
    return a.keys() == b.keys() and all(math.isclose(float(a[k]), float(b[k]), rel_tol=1e-9) for k in a)


@pytest.mark.slow  # builds promtool from Prometheus's Go module on a first run; then about a second
def test_the_evaluator_answers_as_the_real_prometheus_does(tmp_path):
    """Every dashboard query, for each app and for all, evaluated by the pinned Prometheus release's promtool on the
    captured series, reads what tests/captured_prometheus.py reads. rate() and increase() are left out on both sides:
    one captured sample has no rate, and the evaluator's rate is that sample over the window."""
    from tests.engine import programs

    if programs.go_command() is None:
        skip_or_fail("go", "Go is not installed: promtool cannot be built")
    promtool = str(programs.tool_path("prometheus", "promtool"))
    tests = []
    for slug in d.SLUGS:
        for _where, _panel, target in _targets(slug):
            for service in SERVICES:
                query = WITHOUT_RANGE.sub(r"\1", _query(slug, target["expr"], service))
                samples = [
                    {
                        "labels": "{" + ",".join(f'{k}="{v}"' for k, v in sorted(e.labels.items())) + "}",
                        "value": e.value,
                    }
                    for e in EVALUATE.vector(query)
                ]
                tests.append({"expr": query, "eval_time": "0s", "exp_samples": samples})
    assert len(tests) > 400
    document = {
        "rule_files": [],
        "fuzzy_compare": True,
        "tests": [
            {
                "interval": "1m",
                "input_series": [_promtool_series(s) for s in CAPTURED.series],
                "promql_expr_test": tests,
            }
        ],
    }
    path = tmp_path / "captured.test.yml"
    path.write_text(json.dumps(document))  # JSON is YAML
    result = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    if result.returncode == 0:
        assert "SUCCESS" in output, output
        return
    # promtool compares floats to the last bit or two; a difference beyond that is a real one.
    results = PROMTOOL_RESULT.findall(output)
    pairs = list(zip(results[::2], results[1::2], strict=True))
    assert pairs and output.count("expr:") == len(pairs), output[-3000:]
    differing = [f"{exp} != {got}" for (_, exp), (_, got) in pairs if not _close(exp, got)]
    assert not differing, "\n".join(differing) + "\n\n" + output[-3000:]
