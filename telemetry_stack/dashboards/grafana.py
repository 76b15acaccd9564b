"""Grafana primitives the boards are made of: targets, panels, thresholds, template variables,
links, datasource references and the notes panels share.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Sequence
from typing import Any

from telemetry_stack import catalog as c
from telemetry_stack.catalog import Instrument
from telemetry_stack.dashboards.promql import (
    SERVICE_LABEL,
    SERVICE_VARIABLE,
    _average,
    _histogram_series,
    _quantile,
    _selector,
)

PROMETHEUS_DATASOURCE_UID = "llama-telemetry-prometheus"
JAEGER_DATASOURCE_UID = "llama-telemetry-jaeger"
SCHEMA_VERSION = 42  # the latest of Grafana 12.4 (dashboard schema v1's last)
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

Dashboard = dict[str, Any]
Panel = dict[str, Any]

TRACE_SERVICE_VARIABLE = "trace_service"
# Grafana keeps a variable regex's capture group: "namespace/name" -> "name", "name" -> "name".
TRACE_SERVICE_REGEX = "/^(?:.*\\/)?([^\\/]+)$/"


# --- targets and panels ------------------------------------------------------------


def _legend(inst: Instrument, *attrs: str, prefix: str = "") -> str:
    text = " · ".join("{{" + inst.label(a) + "}}" for a in attrs)
    return f"{prefix} {text}".strip() if prefix else text


def _target(expr: str, legend: str = "", *, instant: bool = False, table: bool = False) -> dict:
    target = {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
    }
    if table:
        target["format"] = "table"
    return target


def _panel(
    kind: str,
    title: str,
    targets: list[dict],
    unit: str,
    *,
    w: int,
    h: int,
    description: str = "",
    links: Sequence[dict] = (),
    options: dict | None = None,
    defaults: dict | None = None,
    transformations: Sequence[dict] = (),
) -> Panel:
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


def timeseries(
    title: str,
    targets: list[dict],
    unit: str,
    *,
    w: int = 12,
    h: int = 8,
    description: str = "",
    links: Sequence[dict] = (),
) -> Panel:
    return _panel(
        "timeseries",
        title,
        targets,
        unit,
        w=w,
        h=h,
        description=description,
        links=links,
        defaults={"min": 0, "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never"}},
        options={
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    )


# Stat panels colour by thresholds, and Grafana's own default turns any value red at 80: every stat
# states its thresholds.  Counts, rates and latencies have no threshold that is right for every app.
NEUTRAL: list[dict[str, Any]] = [{"color": "blue", "value": None}]
ERROR_RATIO: list[dict[str, Any]] = [
    {"color": "green", "value": None},
    {"color": "orange", "value": 0.01},
    {"color": "red", "value": 0.05},
]


def stat(
    title: str,
    expr: str,
    unit: str,
    *,
    thresholds: list[dict],
    w: int = 6,
    h: int = 4,
    description: str = "",
    links: Sequence[dict] = (),
    decimals: int | None = None,
) -> Panel:
    defaults: dict[str, Any] = {
        "color": {"mode": "thresholds"},
        "thresholds": {"mode": "absolute", "steps": thresholds},
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return _panel(
        "stat",
        title,
        [_target(expr)],
        unit,
        w=w,
        h=h,
        description=description,
        links=links,
        defaults=defaults,
        options={
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
        },
    )


def table(title: str, expr: str, unit: str, *, w: int = 24, h: int = 8, description: str = "") -> Panel:
    return _panel(
        "table",
        title,
        [_target(expr, instant=True, table=True)],
        unit,
        w=w,
        h=h,
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
        _target(_quantile(q, inst, variables), f"p{round(q * 100)}") for q in quantiles
    ]


# --- notes ---------------------------------------------------------------------------

LATENCY_NOTE = (
    "The average is exact. Percentiles are estimated from the histogram's buckets: "
    "with the default buckets OGX and Llama Stack give this histogram (0, 5, 10, 25 s, ...) "
    "any latency under 5 s reads about 2.5 s at p50 and 4.75 s at p95. For accurate "
    "percentiles run the app with {}={} (`llama-telemetry env` sets it).".format(*c.EXPONENTIAL_HISTOGRAMS)
)


def _only_note(inst: Instrument) -> str:
    """Description of a panel that reads an instrument only some servers emit."""
    return f"Emitted by {' and '.join(s.title for s in inst.servers)} only ({inst.otel_name(inst.servers[0])}). "


# --- links ---------------------------------------------------------------------------


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
    panes = {
        "traces": {
            "datasource": JAEGER_DATASOURCE_UID,
            "queries": [
                {
                    "refId": "A",
                    "queryType": "search",
                    "service": SERVICE_URL_TOKEN,
                    "datasource": {"type": "jaeger", "uid": JAEGER_DATASOURCE_UID},
                }
            ],
            "range": {"from": "${__from}", "to": "${__to}"},
        }
    }
    encoded = _quote_keeping(json.dumps(panes, separators=(",", ":")), _LINK_TOKENS)
    return f"/explore?schemaVersion=1&orgId=1&panes={encoded}"


JAEGER_LINK = {"title": "Traces in Jaeger", "url": jaeger_explore_url(), "targetBlank": True}


def _dashboard_links() -> list[dict]:
    return [
        {
            "type": "dashboards",
            "title": "Llama Stack",
            "tags": ["llama-stack"],
            "asDropdown": False,
            "includeVars": True,
            "keepTime": True,
            "targetBlank": False,
            "icon": "external link",
            "tooltip": "",
            "url": "",
        },
        # includeVars would append var-* parameters Explore ignores; the service and
        # the time range are already inside the pane (see _LINK_TOKENS).
        {
            "type": "link",
            "title": JAEGER_LINK["title"],
            "url": JAEGER_LINK["url"],
            "tags": [],
            "asDropdown": False,
            "includeVars": False,
            "keepTime": False,
            "targetBlank": True,
            "icon": "external link",
            "tooltip": "Search the selected service's traces in the provisioned Jaeger datasource",
        },
    ]


# --- variables -----------------------------------------------------------------------


def _datasource_variable() -> dict:
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "regex": "",
        "hide": 0,
        "refresh": 1,
        "includeAll": False,
        "multi": False,
        "options": [],
        "skipUrlSync": False,
        "current": {"selected": False, "text": "Prometheus", "value": PROMETHEUS_DATASOURCE_UID},
    }


def _label_values_variable(name: str, label: str, selector: str, target_label: str, *, multi: bool = True) -> dict:
    """Query variable listing ``target_label``'s values, "All" (= ``.*``) by default."""
    query = f"label_values({selector}, {target_label})"
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "definition": query,
        "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,
        "sort": 1,
        "regex": "",
        "hide": 0,
        "includeAll": True,
        "multi": multi,
        "allValue": ".*",
        "options": [],
        "skipUrlSync": False,
        "current": {"selected": True, "text": ["All"] if multi else "All", "value": ["$__all"] if multi else "$__all"},
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
    variable = _label_values_variable(TRACE_SERVICE_VARIABLE, "Trace service", selector, SERVICE_LABEL, multi=False)
    variable.update({"hide": 2, "includeAll": False, "allValue": None, "regex": TRACE_SERVICE_REGEX, "current": {}})
    return variable


def _query_variable(attribute: str, label: str, inst: Instrument, depends_on: Sequence[str] = ()) -> dict:
    """Multi-value variable named like ``attribute``, listing that label's values."""
    pattern = _histogram_series(inst) if inst.kind == c.HISTOGRAM else inst.name_pattern()
    return _label_values_variable(attribute, label, _selector(pattern, inst, depends_on), inst.label(attribute))
