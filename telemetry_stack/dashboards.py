"""The six Grafana dashboards, built as plain dicts from :mod:`telemetry_stack.catalog`.

Series and label names come only from the catalog; this module adds layout,
PromQL shape and Grafana conventions.  ``scripts/build_dashboards.py`` writes
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
SCHEMA_VERSION = 41
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
SERVICE_MATCHER = f'{SERVICE_LABEL}=~"${SERVICE_VARIABLE}"'


# --- PromQL helpers -------------------------------------------------------------


def _selector(series: str, inst: Instrument, variables: Iterable[str] = (),
              matchers: Iterable[Matcher] = ()) -> str:
    """``series{job=~"$service",label=~"$attr",...}``; each variable is named like its attribute.

    Every query selects its series here, so every panel and chained variable
    honours the service variable; only that variable's own query leaves it out.
    """
    parts = [SERVICE_MATCHER]
    parts += [f'{inst.label(a)}=~"${a}"' for a in variables]
    parts += [f'{inst.label(a)}{op}"{value}"' for a, op, value in matchers]
    return f"{series}{{{','.join(parts)}}}"


def _by(inst: Instrument, attrs: Sequence[str], extra: Sequence[str] = ()) -> str:
    labels = list(extra) + [inst.label(a) for a in attrs]
    return f"sum by ({', '.join(labels)}) " if labels else "sum"


def _rate(inst: Instrument, variables: Iterable[str] = (), matchers: Iterable[Matcher] = (),
          by: Sequence[str] = (), series: str | None = None) -> str:
    """Summed per-second rate of a counter (or a histogram's chosen series)."""
    sel = _selector(series or inst.prometheus_name, inst, variables, matchers)
    return f"{_by(inst, by)}(rate({sel}[{RATE_WINDOW}]))"


def _increase(inst: Instrument, variables: Iterable[str] = (), by: Sequence[str] = ()) -> str:
    """Summed increase of a counter over the dashboard's time range."""
    sel = _selector(inst.prometheus_name, inst, variables)
    return f"{_by(inst, by)}(increase({sel}[{RANGE_WINDOW}]))"


def _quantile(q: float, inst: Instrument, variables: Iterable[str] = (),
              matchers: Iterable[Matcher] = (), by: Sequence[str] = ()) -> str:
    sel = _selector(inst.bucket, inst, variables, matchers)
    return f"histogram_quantile({q}, {_by(inst, by, ['le'])}(rate({sel}[{RATE_WINDOW}])))"


def _ratio(numerator: str, denominator: str) -> str:
    return f"{numerator} / {denominator}"


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


def stat(title: str, expr: str, unit: str, *, w: int = 6, h: int = 4, description: str = "",
         links: Sequence[dict] = (), decimals: int | None = None) -> Panel:
    defaults: dict[str, Any] = {"color": {"mode": "thresholds"}}
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


def _percentiles(inst: Instrument, quantiles: Sequence[float], variables: Sequence[str] = (),
                 matchers: Sequence[Matcher] = ()) -> list[dict]:
    return [_target(_quantile(q, inst, variables, matchers), f"p{round(q * 100)}")
            for q in quantiles]


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
SERVICE_URL_TOKEN = f"${{{SERVICE_VARIABLE}:percentencode}}"
_LINK_TOKENS = (SERVICE_URL_TOKEN, "${__from}", "${__to}")


def _quote_keeping(text: str, tokens: Sequence[str]) -> str:
    """Percent-encode ``text`` for a query string, leaving each of ``tokens`` as is."""
    pieces = re.split("(" + "|".join(re.escape(t) for t in tokens) + ")", text)
    return "".join(p if p in tokens else urllib.parse.quote(p, safe="") for p in pieces)


def jaeger_explore_url() -> str:
    """Grafana Explore on the provisioned Jaeger datasource, searching the selected service.

    With the Service variable at "All", Grafana percent-encodes its custom all value,
    so the search names the service ``.*``.  Jaeger takes a service name, not a
    pattern: that search finds nothing and the user picks a service in the search
    form.  We accept this rather than drop the filter for everyone, because a link
    URL cannot leave out a field depending on a variable's value; selecting one
    service on the dashboard gives a ready-made search.
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
    return _label_values_variable(SERVICE_VARIABLE, "Service", c.REQUESTS.prometheus_name, SERVICE_LABEL, multi=False)


def _query_variable(attribute: str, label: str, inst: Instrument, series: str,
                    depends_on: Sequence[str] = ()) -> dict:
    """Multi-value variable named like ``attribute``, listing that label's values."""
    return _label_values_variable(attribute, label, _selector(series, inst, depends_on),
                                  inst.label(attribute))


def _model_provider_variables() -> list[dict]:
    inst = c.INFERENCE_DURATION
    return [
        _query_variable("model", "Model", inst, inst.count),
        _query_variable("provider", "Provider", inst, inst.count, ["model"]),
    ]


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
        "templating": {"list": [_datasource_variable(), _service_variable(), *variables]},
        "panels": _layout(panels),
    }


# --- the dashboards --------------------------------------------------------------------

PCT = (0.5, 0.95, 0.99)


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
    # Llama Stack's documented token queries, kept verbatim (a test checks they are
    # on the overview): they alone ignore $service; "Token rate by model" honours it.
    input_q, output_q = c.DOCUMENTED_QUERIES[0], c.DOCUMENTED_QUERIES[1]
    vector_counters = (c.VECTOR_INSERTS, c.VECTOR_QUERIES, c.VECTOR_DELETES)
    vector_ops = " + ".join(f"({_rate(i)} or vector(0))" for i in vector_counters)
    panels = [
        stat("Total requests", _increase(req), "short", decimals=0,
             description="API requests in the selected time range.",
             links=[_panel_link("Requests dashboard", "llama-stack-requests")]),
        stat("Request rate", _rate(req), "reqps",
             links=[_panel_link("Requests dashboard", "llama-stack-requests")]),
        stat("Error rate", _error_ratio(_rate(req, matchers=[NOT_SUCCESS]), _rate(req)),
             "percentunit",
             description="Share of API requests whose status is not success."),
        stat("Active HTTP requests", f"sum({_selector(active.prometheus_name, active)})",
             "short", decimals=0, description="HTTP requests in flight (auto-instrumentation)."),
        stat("Inference requests/s", _rate(c.INFERENCE_DURATION, inf_vars,
                                           series=c.INFERENCE_DURATION.count), "reqps",
             links=[_panel_link("Inference dashboard", "llama-stack-inference")]),
        stat("Tool invocations/s", _rate(c.TOOL_INVOCATIONS), "ops",
             links=[_panel_link("Tool runtime dashboard", "llama-stack-tool-runtime")]),
        stat("Vector IO operations/s", vector_ops, "ops",
             description="Inserts + queries + deletes per second.",
             links=[_panel_link("Vector IO dashboard", "llama-stack-vector-io")]),
        stat("Responses API parameters/s", _rate(c.RESPONSES_PARAMETER_USAGE), "ops",
             links=[_panel_link("Responses API dashboard", "llama-stack-responses")]),
        timeseries("Token usage by model", [
            _target(input_q, _legend(tokens, "gen_ai.request.model", prefix="input")),
            _target(output_q, _legend(tokens, "gen_ai.request.model", prefix="output")),
        ], "short", description="Cumulative input and output tokens (GenAI client "
                                "auto-instrumentation), as in Llama Stack's documentation."),
        timeseries("Token rate by model", [
            _target(_rate(tokens, by=["gen_ai.request.model", "gen_ai.token.type"],
                          series=tokens.sum),
                    _legend(tokens, "gen_ai.request.model", "gen_ai.token.type")),
        ], "short", description="Tokens per second, by model and token type."),
        timeseries("HTTP server latency p95 / p99", http_latency, "s",
                   description="Works with either HTTP semantic convention: the older "
                               "millisecond histogram is converted to seconds.",
                   links=[JAEGER_LINK]),
        timeseries("Requests and errors", [
            _target(_rate(req), "requests"),
            _target(_rate(req, matchers=[NOT_SUCCESS]), "errors (status != success)"),
            _target(_rate(http_old, matchers=[("http.status_code", "=~", "5..")],
                          series=http_old.count), "HTTP 5xx (" + http_old.name + ")"),
            _target(_rate(http_new, matchers=[("http.response.status_code", "=~", "5..")],
                          series=http_new.count), "HTTP 5xx (" + http_new.name + ")"),
        ], "reqps"),
        timeseries("Inference latency p95 by model", [
            _target(_quantile(0.95, c.INFERENCE_DURATION, inf_vars, by=["model"]),
                    _legend(c.INFERENCE_DURATION, "model")),
        ], "s", links=[_panel_link("Inference dashboard", "llama-stack-inference"), JAEGER_LINK]),
        timeseries("Request rate by API", [
            _target(_rate(req, by=["api"]), _legend(req, "api")),
        ], "reqps", links=[_panel_link("Requests dashboard", "llama-stack-requests")]),
    ]
    return _dashboard("llama-stack-overview", "Llama Stack / Overview",
                      "Tokens, HTTP latency, request and error rates across a Llama Stack server.",
                      _model_provider_variables(), panels)


def inference() -> Dashboard:
    dur, ttft, tps = (c.INFERENCE_DURATION, c.INFERENCE_TIME_TO_FIRST_TOKEN,
                      c.INFERENCE_TOKENS_PER_SECOND)
    v = ("model", "provider")
    by_mp = ["model", "provider"]
    requests = _rate(dur, v, series=dur.count)
    errors = _rate(dur, v, [NOT_SUCCESS], series=dur.count)
    mean_tps = _ratio(_rate(tps, v, by=by_mp, series=tps.sum),
                      _rate(tps, v, by=by_mp, series=tps.count))
    panels = [
        stat("Inference requests/s", requests, "reqps"),
        stat("Latency p95", _quantile(0.95, dur, v), "s"),
        stat("Time to first token p95", _quantile(0.95, ttft, v), "s"),
        stat("Error rate", _error_ratio(errors, requests), "percentunit"),
        timeseries("Latency p50 / p95 / p99", _percentiles(dur, PCT, v), "s",
                   description="End-to-end inference duration.", links=[JAEGER_LINK]),
        timeseries("Time to first token p50 / p95 (streaming)",
                   _percentiles(ttft, (0.5, 0.95), v), "s",
                   description="Recorded for streaming requests only."),
        timeseries("Latency p95 by model and provider", [
            _target(_quantile(0.95, dur, v, by=by_mp), _legend(dur, *by_mp)),
        ], "s"),
        timeseries("Time to first token p95 by model and provider", [
            _target(_quantile(0.95, ttft, v, by=by_mp), _legend(ttft, *by_mp)),
        ], "s"),
        timeseries("Tokens per second by model and provider", [
            _target(mean_tps, _legend(tps, *by_mp, prefix="mean")),
            _target(_quantile(0.5, tps, v, by=by_mp), _legend(tps, *by_mp, prefix="p50")),
        ], "short", description="Output token throughput (completion tokens / duration)."),
        timeseries("Requests by model and provider", [
            _target(_rate(dur, v, by=by_mp, series=dur.count), _legend(dur, *by_mp)),
        ], "reqps"),
        timeseries("Success vs error rate", [
            _target(_rate(dur, v, by=["status"], series=dur.count), _legend(dur, "status")),
        ], "reqps"),
        timeseries("Error rate by model and provider", [
            _target(_error_ratio(_rate(dur, v, [NOT_SUCCESS], by=by_mp, series=dur.count),
                           _rate(dur, v, by=by_mp, series=dur.count)), _legend(dur, *by_mp)),
        ], "percentunit"),
    ]
    return _dashboard("llama-stack-inference", "Llama Stack / Inference",
                      "Inference latency, time to first token, throughput and errors.",
                      _model_provider_variables(), panels)


def requests() -> Dashboard:
    req, dur, conc = c.REQUESTS, c.REQUEST_DURATION, c.CONCURRENT_REQUESTS
    v = ("api", "method")
    rate_all = _rate(req, v)
    panels = [
        stat("Request rate", rate_all, "reqps"),
        stat("Error rate", _error_ratio(_rate(req, v, [NOT_SUCCESS]), rate_all), "percentunit"),
        stat("Concurrent requests", f"sum({_selector(conc.prometheus_name, conc, ['api'])})",
             "short", decimals=0),
        stat("Latency p95", _quantile(0.95, dur, v), "s"),
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
            _target(f"{_by(conc, ['api'])}({_selector(conc.prometheus_name, conc, ['api'])})",
                    _legend(conc, "api")),
        ], "short"),
        timeseries("Latency p50 / p95 / p99", _percentiles(dur, PCT, v), "s",
                   links=[JAEGER_LINK]),
        timeseries("Latency p95 by API method", [
            _target(_quantile(0.95, dur, v, by=["api", "method"]), _legend(dur, "api", "method")),
        ], "s"),
    ]
    variables = [
        _query_variable("api", "API", req, req.prometheus_name),
        _query_variable("method", "Method", req, req.prometheus_name, ["api"]),
    ]
    return _dashboard("llama-stack-requests", "Llama Stack / Requests",
                      "API request rate, errors, concurrency and latency by API and method.",
                      variables, panels)


def responses() -> Dashboard:
    use = c.RESPONSES_PARAMETER_USAGE
    v = ("operation", "parameter")
    selected = _selector(use.prometheus_name, use, v)
    panels = [
        stat("Parameter uses/s", _rate(use, v), "ops"),
        stat("Parameter uses in range", _increase(use, v), "short", decimals=0),
        stat("Distinct parameters used", f"count({_by(use, ['parameter'])}({selected}))",
             "short", decimals=0),
        stat("Operations", f"count({_by(use, ['operation'])}({selected}))", "short", decimals=0),
        timeseries("Parameter usage by parameter", [
            _target(_rate(use, v, by=["parameter"]), _legend(use, "parameter")),
        ], "ops"),
        timeseries("Parameter usage by operation", [
            _target(_rate(use, v, by=["operation"]), _legend(use, "operation")),
        ], "ops"),
        table("Parameter usage in range by operation and parameter",
              _increase(use, v, by=["operation", "parameter"]), "short",
              description="Which optional Responses API parameters callers set explicitly."),
    ]
    variables = [
        _query_variable("operation", "Operation", use, use.prometheus_name),
        _query_variable("parameter", "Parameter", use, use.prometheus_name, ["operation"]),
    ]
    return _dashboard("llama-stack-responses", "Llama Stack / Responses API",
                      "Which optional Responses API parameters are used, by operation.",
                      variables, panels)


def tool_runtime() -> Dashboard:
    inv, dur = c.TOOL_INVOCATIONS, c.TOOL_DURATION
    v = ("tool_group", "tool_name", "provider")
    tool = ["tool_group", "tool_name"]
    panels = [
        stat("Invocations/s", _rate(inv, v), "ops"),
        stat("Error rate", _error_ratio(_rate(inv, v, [NOT_SUCCESS]), _rate(inv, v)),
             "percentunit"),
        stat("Latency p95", _quantile(0.95, dur, v), "s"),
        stat("Invocations in range", _increase(inv, v), "short", decimals=0),
        timeseries("Invocation rate by tool", [
            _target(_rate(inv, v, by=tool), _legend(inv, *tool)),
        ], "ops"),
        timeseries("Invocations by status", [
            _target(_rate(inv, v, by=["status"]), _legend(inv, "status")),
        ], "ops"),
        timeseries("Latency p50 / p95 / p99", _percentiles(dur, PCT, v), "s",
                   links=[JAEGER_LINK]),
        timeseries("Latency p95 by tool", [
            _target(_quantile(0.95, dur, v, by=tool), _legend(dur, *tool)),
        ], "s"),
        timeseries("Errors by provider", [
            _target(_rate(inv, v, [NOT_SUCCESS], by=["provider"]), _legend(inv, "provider")),
        ], "ops"),
        timeseries("Errors by tool", [
            _target(_rate(inv, v, [NOT_SUCCESS], by=tool), _legend(inv, *tool)),
        ], "ops"),
    ]
    variables = [
        _query_variable("tool_group", "Tool group", inv, inv.prometheus_name),
        _query_variable("tool_name", "Tool", inv, inv.prometheus_name, ["tool_group"]),
        _query_variable("provider", "Provider", inv, inv.prometheus_name),
    ]
    return _dashboard("llama-stack-tool-runtime", "Llama Stack / Tool Runtime",
                      "Tool invocation rate, latency and errors by tool group, tool and provider.",
                      variables, panels)


def vector_io() -> Dashboard:
    v = ("vector_db", "provider")
    ins, qry, dele = c.VECTOR_INSERTS, c.VECTOR_QUERIES, c.VECTOR_DELETES
    stores, files, chunks = c.VECTOR_STORES, c.VECTOR_FILES, c.VECTOR_CHUNKS_PROCESSED
    ins_dur, ret_dur = c.VECTOR_INSERT_DURATION, c.VECTOR_RETRIEVAL_DURATION
    counters = {"inserts": ins, "queries": qry, "deletes": dele, "stores": stores,
                "files": files}
    panels = [
        stat("Inserts/s", _rate(ins, v), "ops"),
        stat("Queries/s", _rate(qry, v), "ops"),
        stat("Insert latency p95", _quantile(0.95, ins_dur, v), "s"),
        stat("Retrieval latency p95", _quantile(0.95, ret_dur, v), "s"),
        timeseries("Insert / query / delete rate", [
            _target(_rate(ins, v), "inserts"),
            _target(_rate(qry, v), "queries"),
            _target(_rate(dele, v), "deletes"),
        ], "ops"),
        timeseries("Chunks processed", [
            _target(_rate(chunks, v, by=["operation"]), _legend(chunks, "operation")),
        ], "ops"),
        timeseries("Insert latency p50 / p95 / p99", _percentiles(ins_dur, PCT, v), "s"),
        timeseries("Retrieval latency p50 / p95 / p99", _percentiles(ret_dur, PCT, v), "s",
                   links=[JAEGER_LINK]),
        timeseries("Retrieval latency p95 by search mode", [
            _target(_quantile(0.95, ret_dur, v, by=["search_mode"]),
                    _legend(ret_dur, "search_mode")),
        ], "s"),
        timeseries("Stores and files", [
            _target(_rate(stores, v, by=["operation"]),
                    _legend(stores, "operation", prefix="stores")),
            _target(_rate(files, v, by=["operation"]),
                    _legend(files, "operation", prefix="files")),
        ], "ops"),
        timeseries("Errors by provider", [
            _target(_rate(inst, v, [NOT_SUCCESS], by=["provider"]),
                    _legend(inst, "provider", prefix=name))
            for name, inst in counters.items()
        ], "ops", w=24),
    ]
    variables = [
        _query_variable("vector_db", "Vector DB", ins_dur, ins_dur.count),
        _query_variable("provider", "Provider", ins_dur, ins_dur.count),
    ]
    return _dashboard("llama-stack-vector-io", "Llama Stack / Vector IO",
                      "Vector store inserts, queries, deletes, chunks, latency and errors.",
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
