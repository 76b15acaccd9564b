"""Every rendered configuration file, parsed and compared with the whole structure it must have, written out here.

The expectations are literals on purpose: nothing below is computed with the product's own helpers or copied
from the objects that rendered the files, so a changed value anywhere in a template, in render.py or in the
service registry fails a test here. Each value is the one its purpose needs (noted beside it where it is not
obvious). The variants (--redact-content, --ogx-metrics) are written as deltas on the default literal.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from telemetry_stack.render import render_files
from telemetry_stack.settings import build_settings
from telemetry_stack.stack import build_stack

COLLECTOR = "otel-collector/config.yaml"
PROMETHEUS = "prometheus/prometheus.yml"
DATASOURCES = "grafana/provisioning/datasources/llama-telemetry.yaml"
DASHBOARD_PROVIDER = "grafana/provisioning/dashboards/llama-telemetry.yaml"

# OGX names its own instruments ogx.*, Llama Stack llama_stack.*: those keep their one prefix. Every other metric
# (auto-instrumentation: gen_ai.*, http.server.*) is copied under llama_stack.* and renamed to ogx.*.
OWN_PREFIX = '"^(ogx|llama_stack)[.]"'
COPY_TO_LLAMA_STACK = (
    'copy_metric(name=Concat(["llama_stack", metric.name], ".")) where not IsMatch(metric.name, ' + OWN_PREFIX + ")"
)
RENAME_TO_OGX = 'set(metric.name, Concat(["ogx", metric.name], ".")) where not IsMatch(metric.name, ' + OWN_PREFIX + ")"

# The GenAI content attributes --redact-content deletes (README: gen_ai.prompt*, gen_ai.completion*,
# gen_ai.input.messages, gen_ai.output.messages, gen_ai.system_instructions; and tool-call arguments/results).
CONTENT_KEYS = (
    "^gen_ai[.](prompt|completion|input[.]messages|output[.]messages|system_instructions"
    "|tool[.]call[.](arguments|result))([.].*)?$"
)

DEFAULT_COLLECTOR = {
    "extensions": {
        # 0.0.0.0, not the extension's default localhost: the published port 13133 must reach it.
        "health_check": {"endpoint": "0.0.0.0:13133"},
    },
    "receivers": {
        # Apps on the host reach the collector through published ports: it must listen on every interface.
        "otlp": {
            "protocols": {
                "grpc": {"endpoint": "0.0.0.0:4317"},
                "http": {"endpoint": "0.0.0.0:4318"},
            }
        }
    },
    "processors": {
        # Fixed MiB limits: percentages alone stop the collector where it cannot read its cgroup limit.
        "memory_limiter": {"check_interval": "1s", "limit_mib": 512, "spike_limit_mib": 128},
        "batch": {},
        "transform/server_prefix": {
            "error_mode": "ignore",
            "metric_statements": [{"context": "metric", "statements": [COPY_TO_LLAMA_STACK, RENAME_TO_OGX]}],
        },
    },
    "exporters": {
        # Jaeger by its network alias, OTLP gRPC, plaintext: Jaeger's OTLP receiver has no TLS in this stack.
        "otlp_grpc/jaeger": {"endpoint": "jaeger:4317", "tls": {"insecure": True}},
        "prometheus": {
            # Prometheus scrapes this from another container: every interface, port 8889.
            "endpoint": "0.0.0.0:8889",
            # Classic names (dots to underscores, _seconds, _total), no namespace (it would double prefixes).
            "translation_strategy": "UnderscoreEscapingWithSuffixes",
            "send_timestamps": False,
            "metric_expiration": "10m",
        },
    },
    "service": {
        "extensions": ["health_check"],
        "pipelines": {
            # memory_limiter first, batch last, as the collector's documentation requires.
            "traces": {
                "receivers": ["otlp"],
                "processors": ["memory_limiter", "batch"],
                "exporters": ["otlp_grpc/jaeger"],
            },
            "metrics": {
                "receivers": ["otlp"],
                "processors": ["memory_limiter", "transform/server_prefix", "batch"],
                "exporters": ["prometheus"],
            },
        },
    },
}

DEFAULT_PROMETHEUS = {
    "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
    "scrape_configs": [
        {
            "job_name": "otel-collector",
            # job/instance come from each app's service.name, as the exporter sets them: keep them.
            "honor_labels": True,
            # Exponential histograms from apps arrive as native histograms.
            "scrape_native_histograms": True,
            "static_configs": [{"targets": ["otel-collector:8889"]}],
        },
        {"job_name": "prometheus", "static_configs": [{"targets": ["localhost:9090"]}]},
    ],
}


def ogx_job(target: str) -> dict:
    """The scrape job --ogx-metrics adds: OGX's own endpoint, job "ogx", auto-instrumentation names prefixed."""
    return {
        "job_name": "ogx",
        "static_configs": [{"targets": [target]}],
        "metric_relabel_configs": [
            {
                "source_labels": ["__name__"],
                "regex": (
                    "(gen_ai_client_token_usage|http_server_duration_milliseconds|http_server_active_requests"
                    "|http_server_request_duration_seconds)(_bucket|_sum|_count)?"
                ),
                "target_label": "__name__",
                "replacement": "ogx_${1}${2}",
            }
        ],
    }


DATASOURCES_EXPECTED = {
    "apiVersion": 1,
    "datasources": [
        {
            "name": "Prometheus",
            "uid": "llama-telemetry-prometheus",
            "type": "prometheus",
            # Grafana's server queries the datasource over the stack's network (the browser cannot resolve it).
            "access": "proxy",
            "url": "http://prometheus:9090",
            "isDefault": True,
            "editable": False,
            # The scrape interval, so rate() windows are never shorter than two samples.
            "jsonData": {"timeInterval": "5s"},
        },
        {
            "name": "Jaeger",
            "uid": "llama-telemetry-jaeger",
            "type": "jaeger",
            "access": "proxy",
            "url": "http://jaeger:16686",
            "editable": False,
        },
    ],
}

DASHBOARD_PROVIDER_EXPECTED = {
    "apiVersion": 1,
    "providers": [
        {
            "name": "llama-stack",
            "folder": "Llama Stack",
            "type": "file",
            "disableDeletion": True,
            "allowUiUpdates": False,
            "updateIntervalSeconds": 30,
            # Where the stack copies the dashboards into the Grafana container (see the last test).
            "options": {"path": "/etc/grafana/dashboards/llama-stack"},
        }
    ],
}

DASHBOARD_FILES = {
    "grafana/dashboards/llama-stack/llama-stack-inference.json",
    "grafana/dashboards/llama-stack/llama-stack-overview.json",
    "grafana/dashboards/llama-stack/llama-stack-requests.json",
    "grafana/dashboards/llama-stack/llama-stack-responses.json",
    "grafana/dashboards/llama-stack/llama-stack-tool-runtime.json",
    "grafana/dashboards/llama-stack/llama-stack-vector-io.json",
}


def redacting(collector: dict) -> dict:
    """The default collector plus --redact-content: content attributes deleted from spans and span events."""
    config = copy.deepcopy(collector)
    config["processors"]["transform/redact_genai_content"] = {
        "error_mode": "ignore",
        "trace_statements": [
            {"context": "span", "statements": [f'delete_matching_keys(span.attributes, "{CONTENT_KEYS}")']},
            {"context": "spanevent", "statements": [f'delete_matching_keys(spanevent.attributes, "{CONTENT_KEYS}")']},
        ],
    }
    # Before batch, after memory_limiter: nothing leaves the collector with the content.
    config["service"]["pipelines"]["traces"]["processors"] = [
        "memory_limiter",
        "transform/redact_genai_content",
        "batch",
    ]
    return config


def scraping_ogx(prometheus: dict, target: str) -> dict:
    config = copy.deepcopy(prometheus)
    config["scrape_configs"].append(ogx_job(target))
    return config


def parsed(files: dict[str, bytes], path: str) -> dict:
    return yaml.safe_load(files[path].decode())


def test_the_rendered_files_are_exactly_these():
    assert set(render_files()) == {COLLECTOR, PROMETHEUS, DATASOURCES, DASHBOARD_PROVIDER, *DASHBOARD_FILES}


def test_default_collector_config_is_exactly_this():
    assert parsed(render_files(), COLLECTOR) == DEFAULT_COLLECTOR


def test_default_prometheus_config_is_exactly_this():
    assert parsed(render_files(), PROMETHEUS) == DEFAULT_PROMETHEUS


def test_grafana_datasources_are_exactly_these():
    assert parsed(render_files(), DATASOURCES) == DATASOURCES_EXPECTED


def test_grafana_dashboard_provider_is_exactly_this():
    assert parsed(render_files(), DASHBOARD_PROVIDER) == DASHBOARD_PROVIDER_EXPECTED


def test_redact_content_adds_the_redaction_to_the_trace_pipeline_and_changes_nothing_else():
    files = render_files(redact_content=True)
    assert parsed(files, COLLECTOR) == redacting(DEFAULT_COLLECTOR)
    assert parsed(files, PROMETHEUS) == DEFAULT_PROMETHEUS
    assert parsed(files, DATASOURCES) == DATASOURCES_EXPECTED
    assert parsed(files, DASHBOARD_PROVIDER) == DASHBOARD_PROVIDER_EXPECTED


@pytest.mark.parametrize(
    "target",
    ["host.containers.internal:9464", "ogx.example.com:9100", "10.1.2.3:9464"],
    ids=["on-the-host", "remote-name", "remote-ip"],
)
def test_ogx_metrics_adds_one_scrape_job_and_changes_nothing_else(target):
    files = render_files(ogx_metrics=target)
    assert parsed(files, PROMETHEUS) == scraping_ogx(DEFAULT_PROMETHEUS, target)
    assert parsed(files, COLLECTOR) == DEFAULT_COLLECTOR
    assert parsed(files, DATASOURCES) == DATASOURCES_EXPECTED
    assert parsed(files, DASHBOARD_PROVIDER) == DASHBOARD_PROVIDER_EXPECTED


def test_both_variants_at_once():
    files = render_files(redact_content=True, ogx_metrics="host.containers.internal:9464")
    assert parsed(files, COLLECTOR) == redacting(DEFAULT_COLLECTOR)
    assert parsed(files, PROMETHEUS) == scraping_ogx(DEFAULT_PROMETHEUS, "host.containers.internal:9464")


@pytest.mark.parametrize(
    ("kwargs", "collector", "prometheus"),
    [
        ({}, DEFAULT_COLLECTOR, DEFAULT_PROMETHEUS),
        ({"redact_content": True}, redacting(DEFAULT_COLLECTOR), DEFAULT_PROMETHEUS),
        ({"ogx_metrics": "9464"}, DEFAULT_COLLECTOR, scraping_ogx(DEFAULT_PROMETHEUS, "host.containers.internal:9464")),
        ({"ogx_metrics": "ogx.lan:9100"}, DEFAULT_COLLECTOR, scraping_ogx(DEFAULT_PROMETHEUS, "ogx.lan:9100")),
    ],
    ids=["default", "redact-content", "ogx-port", "ogx-host-port"],
)
def test_the_containers_get_the_files_their_settings_ask_for(kwargs, collector, prometheus):
    """Settings -> Stack -> the files copied into each container, at the paths the commands name."""
    stack = build_stack(build_settings(**kwargs))
    assert set(stack.service("otel-collector").files) == {"/etc/otelcol-contrib/config.yaml"}
    assert yaml.safe_load(stack.service("otel-collector").files["/etc/otelcol-contrib/config.yaml"]) == collector
    assert set(stack.service("prometheus").files) == {"/etc/prometheus/prometheus.yml"}
    assert yaml.safe_load(stack.service("prometheus").files["/etc/prometheus/prometheus.yml"]) == prometheus
    grafana = stack.service("grafana").files
    assert set(grafana) == {
        "/etc/grafana/provisioning/datasources/llama-telemetry.yaml",
        "/etc/grafana/provisioning/dashboards/llama-telemetry.yaml",
        "/etc/grafana/dashboards/llama-stack/llama-stack-inference.json",
        "/etc/grafana/dashboards/llama-stack/llama-stack-overview.json",
        "/etc/grafana/dashboards/llama-stack/llama-stack-requests.json",
        "/etc/grafana/dashboards/llama-stack/llama-stack-responses.json",
        "/etc/grafana/dashboards/llama-stack/llama-stack-tool-runtime.json",
        "/etc/grafana/dashboards/llama-stack/llama-stack-vector-io.json",
    }
    assert yaml.safe_load(grafana["/etc/grafana/provisioning/datasources/llama-telemetry.yaml"]) == DATASOURCES_EXPECTED
    assert (
        yaml.safe_load(grafana["/etc/grafana/provisioning/dashboards/llama-telemetry.yaml"])
        == DASHBOARD_PROVIDER_EXPECTED
    )
    assert stack.service("jaeger").files == {}
