"""The six Grafana dashboards, built as plain dicts from :mod:`telemetry_stack.catalog`.

Series and label names come only from the catalog; this module adds layout,
PromQL shape and Grafana conventions.  A server's own instruments are selected
under both servers' prefixes (``{__name__=~"(ogx|llama_stack)_..."}``), so the
same dashboards serve OGX 1.x and Llama Stack 0.7.x, and a stack receiving both.
Every histogram query works on classic bucket series and on the native
histograms Prometheus stores when an app sends exponential histograms.

Built as plain dicts rather than with grafana-foundation-sdk: its builders write
dashboard links into the controls menu (``placement: inControlsMenu``, no builder
to turn it off), hide time-series legends and leave stat reductions empty unless
told otherwise, and its PyPI versions resolve to a Grafana 10.1 build unless
pinned; nor does it help with the catalog-driven PromQL, most of this module.

``scripts/build_dashboards.py`` writes
the result to ``dashboards/<slug>.json``; a unit test keeps those files equal
to what :func:`build_all` returns.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from telemetry_stack import catalog as c
from telemetry_stack.catalog import Instrument

__all__ = [
    "PROMETHEUS_DATASOURCE_UID",
    "JAEGER_DATASOURCE_UID",
    "SERVICE_VARIABLE",
    "SERVICE_LABEL",
    "SCHEMA_VERSION",
    "TAGS",
    "SLUGS",
    "build_all",
    "render",
    "write_all",
]

PROMETHEUS_DATASOURCE_UID = "llama-telemetry-prometheus"
JAEGER_DATASOURCE_UID = "llama-telemetry-jaeger"
SCHEMA_VERSION = 42  # the latest of Grafana 12.4 (dashboard schema v1's last)
TAGS = ["llama-stack", "llama-telemetry"]
RATE_WINDOW = "$__rate_interval"
RANGE_WINDOW = "$__range"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

Dashboard = dict[str, Any]
Panel = dict[str, Any]
Matcher = tuple[str, str, str]  # (attribute, operator, value)

NOT_SUCCESS: Matcher = ("status", "!=", "success")

# The collector's prometheus exporter turns the app's OpenTelemetry ``service.name``
# into the ``job`` label, and our scrape config keeps it (honor_labels: true).  It is
# a target label, not an instrument attribute, so it is named here, not in the catalog.
SERVICE_VARIABLE = "service"
SERVICE_LABEL = "job"
TRACE_SERVICE_VARIABLE = "trace_service"
# Grafana keeps a variable regex's capture group: "namespace/name" -> "name", "name" -> "name".
TRACE_SERVICE_REGEX = "/^(?:.*\\/)?([^\\/]+)$/"
SERVICE_MATCHER = f'{SERVICE_LABEL}=~"${SERVICE_VARIABLE}"'


# --- PromQL helpers -------------------------------------------------------------


def _selector(pattern: str, inst: Instrument, variables: Iterable[str] = (),
              matchers: Iterable[Matcher] = ()) -> str:
    """``name{job=~"$service",label=~"$attr",...}``; each variable is named like its attribute.

    ``pattern`` is a series name or, for a server's own instrument, a regex over both
    servers' names (then matched as ``__name__``).  Every query selects its series
    here, so every panel and chained variable honours the service variable; only
    that variable's own query leaves it out.
    """
    parts = [SERVICE_MATCHER]
    parts += [f'{inst.label(a)}=~"${a}"' for a in variables]
    parts += [f'{inst.label(a)}{op}"{value}"' for a, op, value in matchers]
    if re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", pattern):
        return f"{pattern}{{{','.join(parts)}}}"
    return f'{{__name__=~"{pattern}",{",".join(parts)}}}'


def _by(inst: Instrument, attrs: Sequence[str], extra: Sequence[str] = ()) -> str:
    labels = list(extra) + [inst.label(a) for a in attrs]
    return f"sum by ({', '.join(labels)}) " if labels else "sum"


def _rate(inst: Instrument, variables: Iterable[str] = (), matchers: Iterable[Matcher] = (),
          by: Sequence[str] = ()) -> str:
    """Summed per-second rate of a counter."""
    sel = _selector(inst.name_pattern(), inst, variables, matchers)
    return f"{_by(inst, by)}(rate({sel}[{RATE_WINDOW}]))"


def _increase(inst: Instrument, variables: Iterable[str] = (), by: Sequence[str] = ()) -> str:
    """Summed increase of a counter over the dashboard's time range."""
    sel = _selector(inst.name_pattern(), inst, variables)
    return f"{_by(inst, by)}(increase({sel}[{RANGE_WINDOW}]))"


# Each histogram query (parenthesised, so it composes) has a classic half (the _bucket/_sum/_count
# series) and a native half (the one series Prometheus stores when the app sends exponential
# histograms), joined by `or`: an app sends one kind or the other, and the `or` sits outside
# histogram_quantile, which would drop a group that mixes both.


def _native_rate(inst: Instrument, variables: Iterable[str], matchers: Iterable[Matcher],
                 by: Sequence[str]) -> str:
    sel = _selector(inst.name_pattern(), inst, variables, matchers)
    return f"{_by(inst, by)}(rate({sel}[{RATE_WINDOW}]))"


def _classic_rate(inst: Instrument, suffix: str, variables: Iterable[str], matchers: Iterable[Matcher],
                  by: Sequence[str], extra: Sequence[str] = ()) -> str:
    sel = _selector(inst.name_pattern(suffix), inst, variables, matchers)
    return f"{_by(inst, by, extra)}(rate({sel}[{RATE_WINDOW}]))"


def _observations(inst: Instrument, variables: Iterable[str] = (), matchers: Iterable[Matcher] = (),
                  by: Sequence[str] = ()) -> str:
    """Observations per second of a histogram (requests/s for a duration histogram)."""
    return (f"({_classic_rate(inst, 'count', variables, matchers, by)} or "
            f"histogram_count({_native_rate(inst, variables, matchers, by)}))")


def _sum_rate(inst: Instrument, variables: Iterable[str] = (), by: Sequence[str] = ()) -> str:
    """Per-second sum of a histogram's observed values (tokens/s for a token histogram)."""
    return (f"({_classic_rate(inst, 'sum', variables, (), by)} or "
            f"histogram_sum({_native_rate(inst, variables, (), by)}))")


def _average(inst: Instrument, variables: Iterable[str] = (), matchers: Iterable[Matcher] = (),
             by: Sequence[str] = ()) -> str:
    """The exact mean of a histogram's observations, whatever its buckets."""
    classic = (f"{_classic_rate(inst, 'sum', variables, matchers, by)} / "
               f"{_classic_rate(inst, 'count', variables, matchers, by)}")
    return f"(({classic}) or histogram_avg({_native_rate(inst, variables, matchers, by)}))"


def _quantile(q: float, inst: Instrument, variables: Iterable[str] = (),
              matchers: Iterable[Matcher] = (), by: Sequence[str] = ()) -> str:
    classic = _classic_rate(inst, "bucket", variables, matchers, by, ["le"])
    native = _native_rate(inst, variables, matchers, by)
    return f"(histogram_quantile({q}, {classic}) or histogram_quantile({q}, {native}))"


def _error_ratio(errors: str, total: str) -> str:
    """errors / total, reading 0 (not "no data") while there are requests but no errors."""
    return f"({errors} or {total} * 0) / {total}"


def _legend(inst: Instrument, *attrs: str, prefix: str = "") -> str:
    text = " · ".join("{{" + inst.label(a) + "}}" for a in attrs)
    return f"{prefix} {text}".strip() if prefix else text


def _target(expr: str, legend: str = "", *, instant: bool = False, table: bool = False) -> dict:
    target = {"datasource": DATASOURCE, "editorMode": "code", "expr": expr,
              "legendFormat": legend or "__auto", "range": not instant, "instant": instant}
    if table:
        target["format"] = "table"
    return target


# --- panel helpers ----------------------------------------------------------------


def _panel(kind: str, title: str, targets: list[dict], unit: str, *, w: int, h: int,
           description: str = "", links: Sequence[dict] = (), options: dict | None = None,
           defaults: dict | None = None, transformations: Sequence[dict] = ()) -> Panel:
    for index, target in enumerate(targets):
        target["refId"] = chr(ord("A") + index)
    panel: Panel = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"h": h, "w": w, "x": 0, "y": 0},
        "fieldConfig": {"defaults": {"unit": unit, **(defaults or {})}, "overrides": []},
        "options": options or {},
        "targets": targets,
    }
    if links:
        panel["links"] = list(links)
    if transformations:
        panel["transformations"] = list(transformations)
    return panel


def timeseries(title: str, targets: list[dict], unit: str, *, w: int = 12, h: int = 8,
               description: str = "", links: Sequence[dict] = ()) -> Panel:
    return _panel(
        "timeseries", title, targets, unit, w=w, h=h, description=description, links=links,
        defaults={"min": 0, "custom": {"drawStyle": "line", "lineWidth": 1,
                                       "fillOpacity": 10, "showPoints": "never"}},
        options={"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                 "tooltip": {"mode": "multi", "sort": "desc"}},
    )


# Stat panels colour by thresholds, and Grafana's own default turns any value red at 80: every stat
# states its thresholds.  Counts, rates and latencies have no threshold that is right for every app.
NEUTRAL = [{"color": "blue", "value": None}]
ERROR_RATIO = [{"color": "green", "value": None}, {"color": "orange", "value": 0.01},
               {"color": "red", "value": 0.05}]


def stat(title: str, expr: str, unit: str, *, thresholds: list[dict], w: int = 6, h: int = 4,
         description: str = "", links: Sequence[dict] = (), decimals: int | None = None) -> Panel:
    defaults: dict[str, Any] = {"color": {"mode": "thresholds"},
                                "thresholds": {"mode": "absolute", "steps": thresholds}}
    if decimals is not None:
        defaults["decimals"] = decimals
    return _panel(
        "stat", title, [_target(expr)], unit, w=w, h=h, description=description, links=links,
        defaults=defaults,
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "colorMode": "value", "graphMode": "area", "justifyMode": "auto",
                 "orientation": "auto", "textMode": "auto"},
    )


def table(title: str, expr: str, unit: str, *, w: int = 24, h: int = 8,
          description: str = "") -> Panel:
    return _panel(
        "table", title, [_target(expr, instant=True, table=True)], unit, w=w, h=h,
        description=description,
        options={"showHeader": True, "sortBy": [{"displayName": "Value", "desc": True}]},
        transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}],
    )


def _layout(panels: list[Panel]) -> list[Panel]:
    """Give panels ids and place them left to right, wrapping at 24 columns."""
    x = y = row_height = 0
    for number, panel in enumerate(panels, start=1):
        pos = panel["gridPos"]
        if x + pos["w"] > 24:
            x, y, row_height = 0, y + row_height, 0
        pos["x"], pos["y"] = x, y
        x += pos["w"]
        row_height = max(row_height, pos["h"])
        panel["id"] = number
    return panels


def _latency(inst: Instrument, quantiles: Sequence[float], variables: Sequence[str] = ()) -> list[dict]:
    """The exact average, then percentiles (estimated from the buckets the app sends)."""
    return [_target(_average(inst, variables), "average")] + [
        _target(_quantile(q, inst, variables), f"p{round(q * 100)}") for q in quantiles]


LATENCY_NOTE = ("The average is exact. Percentiles are estimated from the histogram's buckets: "
                "with the default buckets OGX and Llama Stack give this histogram (0, 5, 10, 25 s, ...) "
                "any latency under 5 s reads about 2.5 s at p50 and 4.75 s at p95. For accurate "
                "percentiles run the app with {}={} (`llama-telemetry env` sets it).".format(*c.EXPONENTIAL_HISTOGRAMS))


# --- links and variables -------------------------------------------------------------


def dashboard_path(slug: str) -> str:
    """Grafana's path of a provisioned dashboard (its uid is its slug)."""
    return f"/d/{slug}/{slug}"


def _dashboard_url(slug: str) -> str:
    # ${__all_variables} carries the selected service (and any variable the target
    # dashboard shares, such as model and provider) along, "All" included.
    return f"{dashboard_path(slug)}?${{__url_time_range}}&${{__all_variables}}"


def _panel_link(title: str, slug: str) -> dict:
    return {"title": title, "url": _dashboard_url(slug), "targetBlank": False}


# Grafana interpolates variables in dashboard and panel link URLs, so these tokens
# must reach it literally: the service name, percent-encoded by Grafana itself, and
# the dashboard's time range as epoch milliseconds (Explore reads a pane's range only
# from the pane, not from a top-level from/to, hence keepTime is off on the link).
SERVICE_URL_TOKEN = f"${{{TRACE_SERVICE_VARIABLE}:percentencode}}"
_LINK_TOKENS = (SERVICE_URL_TOKEN, "${__from}", "${__to}")


def _quote_keeping(text: str, tokens: Sequence[str]) -> str:
    """Percent-encode ``text`` for a query string, leaving each of ``tokens`` as is."""
    pieces = re.split("(" + "|".join(re.escape(t) for t in tokens) + ")", text)
    return "".join(p if p in tokens else urllib.parse.quote(p, safe="") for p in pieces)


def jaeger_explore_url() -> str:
    """Grafana Explore on the provisioned Jaeger datasource, searching the selected service.

    The search names the hidden trace service variable: the selected job without the
    ``namespace/`` an app's service.namespace adds, since Jaeger knows services by
    service.name alone.  With Service at "All" it is the first service listed.
    """
    panes = {"traces": {
        "datasource": JAEGER_DATASOURCE_UID,
        "queries": [{"refId": "A", "queryType": "search", "service": SERVICE_URL_TOKEN,
                     "datasource": {"type": "jaeger", "uid": JAEGER_DATASOURCE_UID}}],
        "range": {"from": "${__from}", "to": "${__to}"},
    }}
    encoded = _quote_keeping(json.dumps(panes, separators=(",", ":")), _LINK_TOKENS)
    return f"/explore?schemaVersion=1&orgId=1&panes={encoded}"


JAEGER_LINK = {"title": "Traces in Jaeger", "url": jaeger_explore_url(), "targetBlank": True}


def _dashboard_links() -> list[dict]:
    return [
        {"type": "dashboards", "title": "Llama Stack", "tags": ["llama-stack"],
         "asDropdown": False, "includeVars": True, "keepTime": True, "targetBlank": False,
         "icon": "external link", "tooltip": "", "url": ""},
        # includeVars would append var-* parameters Explore ignores; the service and
        # the time range are already inside the pane (see _LINK_TOKENS).
        {"type": "link", "title": JAEGER_LINK["title"], "url": JAEGER_LINK["url"],
         "tags": [], "asDropdown": False, "includeVars": False, "keepTime": False,
         "targetBlank": True, "icon": "external link",
         "tooltip": "Search the selected service's traces in the provisioned Jaeger datasource"},
    ]


def _datasource_variable() -> dict:
    return {
        "name": "datasource", "label": "Data source", "type": "datasource",
        "query": "prometheus", "regex": "", "hide": 0, "refresh": 1,
        "includeAll": False, "multi": False, "options": [], "skipUrlSync": False,
        "current": {"selected": False, "text": "Prometheus", "value": PROMETHEUS_DATASOURCE_UID},
    }


def _label_values_variable(name: str, label: str, selector: str, target_label: str, *,
                           multi: bool = True) -> dict:
    """Query variable listing ``target_label``'s values, "All" (= ``.*``) by default."""
    query = f"label_values({selector}, {target_label})"
    return {
        "name": name, "label": label, "type": "query",
        "datasource": DATASOURCE, "definition": query,
        "query": {"qryType": 1, "query": query,
                  "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2, "sort": 1, "regex": "", "hide": 0,
        "includeAll": True, "multi": multi, "allValue": ".*", "options": [], "skipUrlSync": False,
        "current": {"selected": True, "text": ["All"] if multi else "All",
                    "value": ["$__all"] if multi else "$__all"},
    }


def _service_variable() -> dict:
    """The app's service.name (the ``job`` label), from a series every server emits.

    Single-valued, since a trace search takes one service; "All" selects every job.
    """
    selector = f'{{__name__=~"{c.REQUESTS.name_pattern()}"}}'
    return _label_values_variable(SERVICE_VARIABLE, "Service", selector, SERVICE_LABEL, multi=False)


def _trace_service_variable() -> dict:
    """Hidden: the Jaeger service name of the selected job.

    The collector names the job ``namespace/name`` when the app sets service.namespace
    (OGX does with OTEL_SERVICE_NAMESPACE); Jaeger knows the service by its name
    alone.  With Service at "All" this is the first service listed.
    """
    selector = _selector(c.REQUESTS.name_pattern(), c.REQUESTS)
    variable = _label_values_variable(TRACE_SERVICE_VARIABLE, "Trace service", selector, SERVICE_LABEL,
                                      multi=False)
    variable.update({"hide": 2, "includeAll": False, "allValue": None, "regex": TRACE_SERVICE_REGEX,
                     "current": {}})
    return variable


def _histogram_series(inst: Instrument) -> str:
    """Name pattern that finds a histogram's labels whether it arrives classic or native."""
    return inst.name_pattern() + "(_count)?"


def _query_variable(attribute: str, label: str, inst: Instrument,
                    depends_on: Sequence[str] = ()) -> dict:
    """Multi-value variable named like ``attribute``, listing that label's values."""
    pattern = _histogram_series(inst) if inst.kind == c.HISTOGRAM else inst.name_pattern()
    return _label_values_variable(attribute, label, _selector(pattern, inst, depends_on),
                                  inst.label(attribute))


def _model_provider_variables() -> list[dict]:
    inst = c.INFERENCE_DURATION
    return [
        _query_variable("model", "Model", inst),
        _query_variable("provider", "Provider", inst, ["model"]),
    ]


def _only_note(inst: Instrument) -> str:
    """Description of a panel that reads an instrument only some servers emit."""
    return f"Emitted by {' and '.join(s.title for s in inst.servers)} only ({inst.otel_name(inst.servers[0])}). "


def _dashboard(slug: str, title: str, description: str, variables: list[dict],
               panels: list[Panel]) -> Dashboard:
    return {
        "uid": slug,
        "title": title,
        "description": description,
        "tags": list(TAGS),
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "links": _dashboard_links(),
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard",
        }]},
        "templating": {"list": [_datasource_variable(), _service_variable(), _trace_service_variable(),
                                *variables]},
        "panels": _layout(panels),
    }


# --- the dashboards --------------------------------------------------------------------

PCT = (0.5, 0.95, 0.99)
SERVERS_NOTE = "OGX 1.x and Llama Stack 0.7.x"


def overview() -> Dashboard:
    req, http_old, http_new = c.REQUESTS, c.HTTP_SERVER_DURATION, c.HTTP_SERVER_REQUEST_DURATION
    tokens, active = c.GEN_AI_TOKEN_USAGE, c.HTTP_SERVER_ACTIVE_REQUESTS
    inf_vars = ("model", "provider")
    http_latency = []
    for q in (0.95, 0.99):
        # Older semconv records milliseconds: convert so both land on one seconds axis.
        http_latency.append(_target(f"{_quantile(q, http_old)} / 1000",
                                    f"p{round(q * 100)} ({http_old.name})"))
        http_latency.append(_target(_quantile(q, http_new), f"p{round(q * 100)} ({http_new.name})"))
    # The dashboards' server's documented token queries, kept verbatim (a test checks they are on
    # the overview): they alone ignore $service; "Token rate by model" honours it.
    input_q, output_q = c.DOCUMENTED_QUERIES[c.DASHBOARD_SERVER.key][:2]
    vector_counters = (c.VECTOR_INSERTS, c.VECTOR_QUERIES, c.VECTOR_DELETES)
    vector_ops = " + ".join(f"({_rate(i)} or vector(0))" for i in vector_counters)
    panels = [
        stat("Total requests", _increase(req), "short", thresholds=NEUTRAL, decimals=0,
             description="API requests in the selected time range.",
             links=[_panel_link("Requests dashboard", "llama-stack-requests")]),
        stat("Request rate", _rate(req), "reqps", thresholds=NEUTRAL,
             links=[_panel_link("Requests dashboard", "llama-stack-requests")]),
        stat("Error rate", _error_ratio(_rate(req, matchers=[NOT_SUCCESS]), _rate(req)),
             "percentunit", thresholds=ERROR_RATIO,
             description="Share of API requests whose status is not success (orange from 1 %, red from 5 %)."),
        stat("Active HTTP requests", f"sum({_selector(active.name_pattern(), active)})",
             "short", thresholds=NEUTRAL, decimals=0,
             description="HTTP requests in flight (auto-instrumentation)."),
        stat("Inference requests/s", _observations(c.INFERENCE_DURATION, inf_vars), "reqps",
             thresholds=NEUTRAL, links=[_panel_link("Inference dashboard", "llama-stack-inference")]),
        stat("Tool invocations/s", _rate(c.TOOL_INVOCATIONS), "ops", thresholds=NEUTRAL,
             links=[_panel_link("Tool runtime dashboard", "llama-stack-tool-runtime")]),
        stat("Vector IO operations/s", vector_ops, "ops", thresholds=NEUTRAL,
             description="Inserts + queries + deletes per second.",
             links=[_panel_link("Vector IO dashboard", "llama-stack-vector-io")]),
        stat("Responses API parameters/s", _rate(c.RESPONSES_PARAMETER_USAGE), "ops",
             thresholds=NEUTRAL, links=[_panel_link("Responses API dashboard", "llama-stack-responses")]),
        timeseries("Token usage by model", [
            _target(input_q, _legend(tokens, "gen_ai.request.model", prefix="input")),
            _target(output_q, _legend(tokens, "gen_ai.request.model", prefix="output")),
        ], "short", description="Cumulative input and output tokens (GenAI client "
                                f"auto-instrumentation), as in {c.DASHBOARD_SERVER.title}'s documentation."),
        timeseries("Token rate by model", [
            _target(_sum_rate(tokens, by=["gen_ai.request.model", "gen_ai.token.type"]),
                    _legend(tokens, "gen_ai.request.model", "gen_ai.token.type")),
        ], "short", description="Tokens per second, by model and token type."),
        timeseries("HTTP server latency p95 / p99", http_latency, "s",
                   description="Works with either HTTP semantic convention: the older "
                               "millisecond histogram is converted to seconds.",
                   links=[JAEGER_LINK]),
        timeseries("Requests and errors", [
            _target(_rate(req), "requests"),
            _target(_rate(req, matchers=[NOT_SUCCESS]), "errors (status != success)"),
            _target(_observations(http_old, matchers=[("http.status_code", "=~", "5..")]),
                    "HTTP 5xx (" + http_old.name + ")"),
            _target(_observations(http_new, matchers=[("http.response.status_code", "=~", "5..")]),
                    "HTTP 5xx (" + http_new.name + ")"),
        ], "reqps"),
        timeseries("Inference latency by model (average)", [
            _target(_average(c.INFERENCE_DURATION, inf_vars, by=["model"]),
                    _legend(c.INFERENCE_DURATION, "model")),
        ], "s", description="The exact average; see the Inference dashboard for percentiles.",
            links=[_panel_link("Inference dashboard", "llama-stack-inference"), JAEGER_LINK]),
        timeseries("Request rate by API", [
            _target(_rate(req, by=["api"]), _legend(req, "api")),
        ], "reqps", links=[_panel_link("Requests dashboard", "llama-stack-requests")]),
    ]
    return _dashboard("llama-stack-overview", "Llama Stack / Overview",
                      f"Tokens, HTTP latency, request and error rates across {SERVERS_NOTE} servers.",
                      _model_provider_variables(), panels)


def inference() -> Dashboard:
    dur, ttft, tps = (c.INFERENCE_DURATION, c.INFERENCE_TIME_TO_FIRST_TOKEN,
                      c.INFERENCE_TOKENS_PER_SECOND)
    model_type = c.INFERENCE_MODEL_TYPE_USED
    v = ("model", "provider")
    by_mp = ["model", "provider"]
    requests = _observations(dur, v)
    errors = _observations(dur, v, [NOT_SUCCESS])
    panels = [
        stat("Inference requests/s", requests, "reqps", thresholds=NEUTRAL),
        stat("Average latency", _average(dur, v), "s", thresholds=NEUTRAL,
             description="Exact average inference duration."),
        stat("Average time to first token", _average(ttft, v), "s", thresholds=NEUTRAL,
             description="Exact average, streaming requests only."),
        stat("Error rate", _error_ratio(errors, requests), "percentunit", thresholds=ERROR_RATIO),
        timeseries("Latency: average, p50 / p95 / p99", _latency(dur, PCT, v), "s",
                   description="End-to-end inference duration. " + LATENCY_NOTE, links=[JAEGER_LINK]),
        timeseries("Time to first token: average, p50 / p95 (streaming)",
                   _latency(ttft, (0.5, 0.95), v), "s",
                   description="Recorded for streaming requests only. " + LATENCY_NOTE),
        timeseries("Average latency by model and provider", [
            _target(_average(dur, v, by=by_mp), _legend(dur, *by_mp)),
        ], "s"),
        timeseries("Average time to first token by model and provider", [
            _target(_average(ttft, v, by=by_mp), _legend(ttft, *by_mp)),
        ], "s"),
        timeseries("Tokens per second by model and provider", [
            _target(_average(tps, v, by=by_mp), _legend(tps, *by_mp, prefix="mean")),
        ], "short", description="Mean output token throughput (completion tokens / duration)."),
        timeseries("Requests by model and provider", [
            _target(_observations(dur, v, by=by_mp), _legend(dur, *by_mp)),
        ], "reqps"),
        timeseries("Success vs error rate", [
            _target(_observations(dur, v, by=["status"]), _legend(dur, "status")),
        ], "reqps"),
        timeseries("Error rate by model and provider", [
            _target(_error_ratio(_observations(dur, v, [NOT_SUCCESS], by=by_mp),
                                 _observations(dur, v, by=by_mp)), _legend(dur, *by_mp)),
        ], "percentunit"),
        timeseries("Inference calls by model type", [
            _target(_rate(model_type, v, by=["type"]), _legend(model_type, "type")),
        ], "ops", description=_only_note(model_type) + "Completion, embedding and reranker calls.", w=24),
    ]
    return _dashboard("llama-stack-inference", "Llama Stack / Inference",
                      "Inference latency, time to first token, throughput and errors.",
                      _model_provider_variables(), panels)


def requests() -> Dashboard:
    req, dur, conc = c.REQUESTS, c.REQUEST_DURATION, c.CONCURRENT_REQUESTS
    v = ("api", "method")
    rate_all = _rate(req, v)
    concurrent = _selector(conc.name_pattern(), conc, ["api"])
    panels = [
        stat("Request rate", rate_all, "reqps", thresholds=NEUTRAL),
        stat("Error rate", _error_ratio(_rate(req, v, [NOT_SUCCESS]), rate_all), "percentunit",
             thresholds=ERROR_RATIO),
        stat("Concurrent requests", f"sum({concurrent})", "short", thresholds=NEUTRAL, decimals=0),
        stat("Average latency", _average(dur, v), "s", thresholds=NEUTRAL,
             description="Exact average API request duration."),
        timeseries("Request rate by API", [_target(_rate(req, v, by=["api"]), _legend(req, "api"))],
                   "reqps"),
        timeseries("Request rate by API method", [
            _target(_rate(req, v, by=["api", "method"]), _legend(req, "api", "method")),
        ], "reqps"),
        timeseries("Errors by API and status code", [
            _target(_rate(req, v, [NOT_SUCCESS], by=["api", "status_code"]),
                    _legend(req, "api", "status_code")),
        ], "reqps"),
        timeseries("Concurrent requests by API", [
            _target(f"{_by(conc, ['api'])}({concurrent})", _legend(conc, "api")),
        ], "short"),
        timeseries("Latency: average, p50 / p95 / p99", _latency(dur, PCT, v), "s",
                   description=LATENCY_NOTE, links=[JAEGER_LINK]),
        timeseries("Average latency by API method", [
            _target(_average(dur, v, by=["api", "method"]), _legend(dur, "api", "method")),
        ], "s"),
    ]
    variables = [
        _query_variable("api", "API", req),
        _query_variable("method", "Method", req, ["api"]),
    ]
    return _dashboard("llama-stack-requests", "Llama Stack / Requests",
                      "API request rate, errors, concurrency and latency by API and method.",
                      variables, panels)


def responses() -> Dashboard:
    use, tool_types, agentic = (c.RESPONSES_PARAMETER_USAGE, c.RESPONSES_TOOL_TYPES_USED,
                                c.RESPONSES_AGENTIC_CALLS)
    v = ("operation", "parameter")
    selected = _selector(use.name_pattern(), use, v)
    panels = [
        stat("Parameter uses/s", _rate(use, v), "ops", thresholds=NEUTRAL),
        stat("Parameter uses in range", _increase(use, v), "short", thresholds=NEUTRAL, decimals=0),
        stat("Distinct parameters used", f"count({_by(use, ['parameter'])}({selected}))",
             "short", thresholds=NEUTRAL, decimals=0),
        stat("Agentic calls/s", _rate(agentic), "ops", thresholds=NEUTRAL,
             description=_only_note(agentic) + "Responses API calls that include tools."),
        timeseries("Parameter usage by parameter", [
            _target(_rate(use, v, by=["parameter"]), _legend(use, "parameter")),
        ], "ops"),
        timeseries("Parameter usage by operation", [
            _target(_rate(use, v, by=["operation"]), _legend(use, "operation")),
        ], "ops"),
        timeseries("Tool types used", [
            _target(_rate(tool_types, by=["tool_type"]), _legend(tool_types, "tool_type")),
        ], "ops", description=_only_note(tool_types)
            + "web_search, file_search, function, mcp: counted once per type per call."),
        timeseries("Agentic calls", [_target(_rate(agentic), "agentic calls")], "ops",
                   description=_only_note(agentic)),
        table("Parameter usage in range by operation and parameter",
              _increase(use, v, by=["operation", "parameter"]), "short",
              description="Which optional Responses API parameters callers set explicitly."),
    ]
    variables = [
        _query_variable("operation", "Operation", use),
        _query_variable("parameter", "Parameter", use, ["operation"]),
    ]
    return _dashboard("llama-stack-responses", "Llama Stack / Responses API",
                      "Which optional Responses API parameters and tool types are used, by operation.",
                      variables, panels)


def tool_runtime() -> Dashboard:
    inv, dur = c.TOOL_INVOCATIONS, c.TOOL_DURATION
    v = ("tool_group", "tool_name", "provider")
    tool = ["tool_group", "tool_name"]
    panels = [
        stat("Invocations/s", _rate(inv, v), "ops", thresholds=NEUTRAL),
        stat("Error rate", _error_ratio(_rate(inv, v, [NOT_SUCCESS]), _rate(inv, v)),
             "percentunit", thresholds=ERROR_RATIO),
        stat("Average latency", _average(dur, v), "s", thresholds=NEUTRAL,
             description="Exact average tool invocation duration."),
        stat("Invocations in range", _increase(inv, v), "short", thresholds=NEUTRAL, decimals=0),
        timeseries("Invocation rate by tool", [
            _target(_rate(inv, v, by=tool), _legend(inv, *tool)),
        ], "ops"),
        timeseries("Invocations by status", [
            _target(_rate(inv, v, by=["status"]), _legend(inv, "status")),
        ], "ops"),
        timeseries("Latency: average, p50 / p95 / p99", _latency(dur, PCT, v), "s",
                   description=LATENCY_NOTE, links=[JAEGER_LINK]),
        timeseries("Average latency by tool", [
            _target(_average(dur, v, by=tool), _legend(dur, *tool)),
        ], "s"),
        timeseries("Errors by provider", [
            _target(_rate(inv, v, [NOT_SUCCESS], by=["provider"]), _legend(inv, "provider")),
        ], "ops"),
        timeseries("Errors by tool", [
            _target(_rate(inv, v, [NOT_SUCCESS], by=tool), _legend(inv, *tool)),
        ], "ops"),
    ]
    variables = [
        _query_variable("tool_group", "Tool group", inv),
        _query_variable("tool_name", "Tool", inv, ["tool_group"]),
        _query_variable("provider", "Provider", inv),
    ]
    return _dashboard("llama-stack-tool-runtime", "Llama Stack / Tool Runtime",
                      "Tool invocation rate, latency and errors by tool group, tool and provider.",
                      variables, panels)


def vector_io() -> Dashboard:
    v = ("vector_db", "provider")
    ins, qry, dele = c.VECTOR_INSERTS, c.VECTOR_QUERIES, c.VECTOR_DELETES
    stores, files, chunks = c.VECTOR_STORES, c.VECTOR_FILES, c.VECTOR_CHUNKS_PROCESSED
    docs = c.VECTOR_DOCUMENTS_RETRIEVED
    ins_dur, ret_dur = c.VECTOR_INSERT_DURATION, c.VECTOR_RETRIEVAL_DURATION
    with_status = {"inserts": ins, "queries": qry, "deletes": dele, "files": files}
    successful_queries = _rate(qry, v, [("status", "=", "success")])
    panels = [
        stat("Inserts/s", _rate(ins, v), "ops", thresholds=NEUTRAL),
        stat("Queries/s", _rate(qry, v), "ops", thresholds=NEUTRAL),
        stat("Average insert latency", _average(ins_dur, v), "s", thresholds=NEUTRAL),
        stat("Average retrieval latency", _average(ret_dur, v), "s", thresholds=NEUTRAL),
        timeseries("Insert / query / delete rate", [
            _target(_rate(ins, v), "inserts"),
            _target(_rate(qry, v), "queries"),
            _target(_rate(dele, v), "deletes"),
        ], "ops"),
        timeseries("Chunks processed", [
            _target(_rate(chunks, v, by=["operation"]), _legend(chunks, "operation")),
        ], "ops"),
        timeseries("Insert latency: average, p50 / p95 / p99", _latency(ins_dur, PCT, v), "s"),
        timeseries("Retrieval latency: average, p50 / p95 / p99", _latency(ret_dur, PCT, v), "s",
                   links=[JAEGER_LINK]),
        timeseries("Retrieval latency p95 by search mode", [
            _target(_quantile(0.95, ret_dur, v, by=["search_mode"]),
                    _legend(ret_dur, "search_mode")),
        ], "s"),
        timeseries("Documents retrieved per query", [
            _target(f"{_rate(docs, v)} / {successful_queries}", "documents per query"),
            _target(_rate(docs, v, by=["search_mode"]), _legend(docs, "search_mode", prefix="documents/s")),
        ], "short", description=_only_note(docs) + "Chunks returned per successful query, and per second."),
        timeseries("Stores created and files attached", [
            _target(_rate(stores, ["provider"], by=["operation"]),
                    _legend(stores, "operation", prefix="stores")),
            _target(_rate(files, v, by=["operation"]),
                    _legend(files, "operation", prefix="files")),
        ], "ops"),
        timeseries("Errors by provider", [
            _target(_rate(inst, v, [NOT_SUCCESS], by=["provider"]),
                    _legend(inst, "provider", prefix=name))
            for name, inst in with_status.items()
        ], "ops", w=24),
    ]
    variables = [
        _query_variable("vector_db", "Vector DB", ins_dur),
        _query_variable("provider", "Provider", ins_dur),
    ]
    return _dashboard("llama-stack-vector-io", "Llama Stack / Vector IO",
                      "Vector store inserts, queries, deletes, chunks, documents retrieved, latency and errors.",
                      variables, panels)


_BUILDERS = {
    "llama-stack-overview": overview,
    "llama-stack-inference": inference,
    "llama-stack-requests": requests,
    "llama-stack-responses": responses,
    "llama-stack-tool-runtime": tool_runtime,
    "llama-stack-vector-io": vector_io,
}
SLUGS: tuple[str, ...] = tuple(_BUILDERS)


def build_all() -> dict[str, Dashboard]:
    """Every dashboard, keyed by slug (which is also its uid and file name)."""
    return {slug: build() for slug, build in _BUILDERS.items()}


def render(dashboard: Dashboard) -> str:
    """The JSON text written to ``dashboards/<slug>.json``."""
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def write_all(directory: str | Path) -> list[Path]:
    """Write every dashboard to ``directory/<slug>.json``; return the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for slug, dashboard in build_all().items():
        path = directory / f"{slug}.json"
        path.write_text(render(dashboard), encoding="utf-8")
        written.append(path)
    return written
