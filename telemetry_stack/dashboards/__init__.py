"""The six Grafana dashboards, built as plain dicts from :mod:`telemetry_stack.catalog`.

Series and label names come only from the catalog; this package adds layout,
PromQL shape and Grafana conventions: :mod:`.promql` writes the queries,
:mod:`.grafana` the panels, variables and links, :mod:`.boards` the six boards.

Built as plain dicts rather than with grafana-foundation-sdk: its builders write
dashboard links into the controls menu (``placement: inControlsMenu``, no builder
to turn it off), hide time-series legends and leave stat reductions empty unless
told otherwise, and its PyPI versions resolve to a Grafana 10.1 build unless
pinned; nor does it help with the catalog-driven PromQL, most of this package.

``scripts/build_dashboards.py`` writes
the result to ``dashboards/<slug>.json``; a unit test keeps those files equal
to what :func:`build_all` returns.
"""

from __future__ import annotations

from telemetry_stack.dashboards.boards import SLUGS, TAGS, build_all, render, write_all
from telemetry_stack.dashboards.grafana import (
    JAEGER_DATASOURCE_UID,
    PROMETHEUS_DATASOURCE_UID,
    SCHEMA_VERSION,
)
from telemetry_stack.dashboards.grafana import TRACE_SERVICE_VARIABLE as TRACE_SERVICE_VARIABLE
from telemetry_stack.dashboards.grafana import dashboard_path as dashboard_path
from telemetry_stack.dashboards.promql import SERVICE_LABEL, SERVICE_VARIABLE

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
