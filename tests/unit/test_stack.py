"""What `up` waits for and in which order it starts things, from the stack model (no engine)."""

from __future__ import annotations

import base64

from telemetry_stack.settings import build_settings
from telemetry_stack.stack import build_stack

DASHBOARD_UIDS = (
    "llama-stack-inference",
    "llama-stack-overview",
    "llama-stack-requests",
    "llama-stack-responses",
    "llama-stack-tool-runtime",
    "llama-stack-vector-io",
)


def test_grafana_is_ready_when_its_datasources_and_every_dashboard_answer_behind_the_login():
    grafana = build_stack(build_settings(grafana_password="pw")).service("grafana")
    assert grafana.readiness_urls("http://h:3000") == [
        "http://h:3000/api/health",
        "http://h:3000/api/datasources/uid/llama-telemetry-prometheus",
        "http://h:3000/api/datasources/uid/llama-telemetry-jaeger",
        *(f"http://h:3000/api/dashboards/uid/{uid}" for uid in DASHBOARD_UIDS),
    ]
    assert grafana.readiness_headers == {"Authorization": "Basic " + base64.b64encode(b"admin:pw").decode()}


def test_the_other_services_are_ready_when_their_health_endpoint_answers():
    stack = build_stack(build_settings())
    urls = {s.name: s.readiness_urls("http://h") for s in stack.services if s.name != "grafana"}
    assert urls == {
        "jaeger": ["http://h/api/services"],
        "otel-collector": ["http://h/"],
        "prometheus": ["http://h/-/ready"],
    }
    assert all(s.readiness_headers == {} for s in stack.services if s.name != "grafana")


def test_the_collector_starts_after_jaeger_and_nothing_else_waits():
    stack = build_stack(build_settings())
    assert {s.name: s.starts_after for s in stack.services} == {
        "jaeger": (),
        "otel-collector": ("jaeger",),
        "prometheus": (),
        "grafana": (),
    }


def test_grafana_never_downloads_plugins_at_start():
    environment = build_stack(build_settings()).service("grafana").container.environment
    assert environment["GF_PLUGINS_PREINSTALL_DISABLED"] == "true"
