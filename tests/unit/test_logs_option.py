"""`--logs`: the fifth service is there exactly when asked for, in every file and decision that knows services.

Expectations are written out here; the engine tests (tests/engine/test_logs.py) run the same path for real.
"""

from __future__ import annotations

import yaml

from telemetry_stack.deploy import _app_environment
from telemetry_stack.engines.base import ContainerInfo, PortBinding, ResourceInfo
from telemetry_stack.planning import Survey, make_plan
from telemetry_stack.render import render_files
from telemetry_stack.settings import build_settings
from telemetry_stack.stack import build_stack

DASHBOARDS = "grafana/dashboards/llama-stack/"


def test_without_logs_there_is_no_loki_anywhere():
    files = render_files()
    assert not [path for path in files if "loki" in path or path.endswith("llama-stack-logs.json")]
    for path, content in files.items():
        assert b"loki" not in content.lower() or path.startswith(DASHBOARDS), path  # dashboards may say "Logs"
    stack = build_stack(build_settings())
    assert [s.name for s in stack.services] == ["jaeger", "otel-collector", "prometheus", "grafana"]
    assert stack.volumes == ("llama-telemetry-prometheus-data", "llama-telemetry-grafana-data")


def test_with_logs_loki_runs_as_the_real_image_would_with_our_config():
    stack = build_stack(build_settings(logs=True, ports=["loki=3110"]))
    assert [s.name for s in stack.services] == ["jaeger", "otel-collector", "prometheus", "grafana", "loki"]
    loki = stack.service("loki")
    spec = loki.container
    assert (spec.name, spec.image, spec.user, spec.command) == (
        "loki",
        "docker.io/grafana/loki:3.7.6",
        "10001",
        ("-config.file=/etc/loki/config.yaml",),
    )
    assert spec.ports == (PortBinding(3100, "127.0.0.1", 3110),)
    assert dict(spec.volumes) == {"llama-telemetry-loki-data": "/loki"}
    assert (spec.restart, spec.aliases, dict(spec.environment)) == (True, ("loki",), {})
    assert sorted(loki.files) == ["/etc/loki/config.yaml"]
    assert loki.readiness_urls("http://h:1") == ["http://h:1/ready"]
    assert stack.volumes[-1] == "llama-telemetry-loki-data"
    # Grafana waits for the Loki datasource and the logs board too.
    grafana = stack.service("grafana")
    assert "/api/datasources/uid/llama-telemetry-loki" in grafana.ready_paths
    assert "/api/dashboards/uid/llama-stack-logs" in grafana.ready_paths


def test_loki_config_listens_where_the_collector_sends_and_keeps_data_on_its_volume():
    config = yaml.safe_load(render_files(logs=True)["loki/config.yaml"])
    assert config["auth_enabled"] is False  # the collector sends no X-Scope-OrgID
    assert config["server"]["http_listen_port"] == 3100
    assert config["common"]["path_prefix"] == "/loki"
    assert config["common"]["storage"] == {
        "filesystem": {"chunks_directory": "/loki/chunks", "rules_directory": "/loki/rules"}
    }
    assert config["common"]["ring"] == {"kvstore": {"store": "inmemory"}}
    assert config["schema_config"]["configs"] == [
        {
            "from": "2024-01-01",
            "store": "tsdb",
            "object_store": "filesystem",
            "schema": "v13",
            "index": {"prefix": "index_", "period": "24h"},
        }
    ]
    assert config["limits_config"] == {"allow_structured_metadata": True}
    assert config["analytics"] == {"reporting_enabled": False}


def test_collector_logs_pipeline_only_with_logs():
    without = yaml.safe_load(render_files()["otel-collector/config.yaml"])
    assert "logs" not in without["service"]["pipelines"] and "otlp_http/loki" not in without["exporters"]
    assert "transform/event_name" not in without["processors"]

    config = yaml.safe_load(render_files(logs=True)["otel-collector/config.yaml"])
    assert config["service"]["pipelines"]["logs"] == {
        "receivers": ["otlp"],
        "processors": ["memory_limiter", "transform/event_name", "batch"],
        "exporters": ["otlp_http/loki"],
    }
    assert config["exporters"]["otlp_http/loki"] == {"endpoint": "http://loki:3100/otlp", "tls": {"insecure": True}}
    assert config["processors"]["transform/event_name"] == {
        "error_mode": "ignore",
        "log_statements": [
            {
                "context": "log",
                "statements": ['set(log.attributes["event.name"], log.event_name) where log.event_name != ""'],
            }
        ],
    }
    # The other pipelines are what they are without logs.
    assert {k: v for k, v in config["service"]["pipelines"].items() if k != "logs"} == without["service"]["pipelines"]


def test_redact_content_with_logs_empties_genai_event_bodies_and_drops_content_attributes():
    config = yaml.safe_load(render_files(redact_content=True, logs=True)["otel-collector/config.yaml"])
    assert config["service"]["pipelines"]["logs"]["processors"] == [
        "memory_limiter",
        "transform/event_name",
        "transform/redact_genai_content",
        "batch",
    ]
    (statements,) = config["processors"]["transform/redact_genai_content"]["log_statements"]
    assert statements == {
        "context": "log",
        "statements": [
            'delete_matching_keys(log.attributes, "^gen_ai[.](prompt|completion|input[.]messages|output[.]messages'
            '|system_instructions|tool[.]call[.](arguments|result))([.].*)?$")',
            'set(log.body, "") where IsMatch(log.event_name, "^gen_ai[.]") '
            'or IsMatch(log.attributes["event.name"], "^gen_ai[.]")',
        ],
    }
    without_logs = yaml.safe_load(render_files(redact_content=True)["otel-collector/config.yaml"])
    assert "log_statements" not in without_logs["processors"]["transform/redact_genai_content"]


def test_grafana_links_logs_and_traces_both_ways():
    sources = yaml.safe_load(render_files(logs=True)["grafana/provisioning/datasources/llama-telemetry.yaml"])
    by_name = {s["name"]: s for s in sources["datasources"]}
    assert by_name["Loki"] == {
        "name": "Loki",
        "uid": "llama-telemetry-loki",
        "type": "loki",
        "access": "proxy",
        "url": "http://loki:3100",
        "editable": False,
        "jsonData": {
            "derivedFields": [
                {
                    "name": "Trace",
                    "matcherType": "label",
                    "matcherRegex": "^trace_id$",
                    "datasourceUid": "llama-telemetry-jaeger",
                    "url": "$${__value.raw}",  # $$: Grafana expands $VAR in provisioning files
                    "urlDisplayLabel": "View trace in Jaeger",
                }
            ]
        },
    }
    assert by_name["Jaeger"]["jsonData"] == {
        "tracesToLogsV2": {
            "datasourceUid": "llama-telemetry-loki",
            "spanStartTimeShift": "-5m",
            "spanEndTimeShift": "5m",
            "filterByTraceID": True,
            "customQuery": True,
            "query": '{service_name=~".+"} | trace_id="$${__span.traceId}"',
        }
    }
    without = yaml.safe_load(render_files()["grafana/provisioning/datasources/llama-telemetry.yaml"])
    assert [s["name"] for s in without["datasources"]] == ["Prometheus", "Jaeger"]
    assert "jsonData" not in without["datasources"][1]


def test_apps_are_told_to_export_logs_only_when_the_stack_has_loki():
    base = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION": "base2_exponential_bucket_histogram",
    }
    assert _app_environment("http://127.0.0.1:4318", logs=False) == {**base, "OTEL_LOGS_EXPORTER": "none"}
    assert _app_environment("http://127.0.0.1:4318", logs=True) == {
        **base,
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED": "true",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true",
    }


def test_up_without_logs_removes_a_loki_container_it_left_and_nothing_else():
    with_logs = build_stack(build_settings(project="p", logs=True))
    stack = build_stack(build_settings(project="p"))

    def info(service, labels=None):
        spec = service.container
        return ContainerInfo(
            f"id-{service.name}", spec.name, spec.image, dict(spec.labels), "running", None, (stack.network,)
        )

    existing = {s.name: info(s) for s in with_logs.services}
    found = Survey(
        existing=existing,
        named={i.name: i for i in existing.values()},
        network=ResourceInfo(stack.network, "n", dict(stack.labels)),
        volumes={name: ResourceInfo(name, name, dict(stack.labels)) for name in with_logs.volumes},
        images={},
    )
    plan = make_plan(stack, found)
    assert [i.name for i in plan.remove] == ["p-loki"]
    assert "loki" not in plan.actions and plan.create_volumes == []
    assert make_plan(with_logs, found).remove == []


def test_doctor_and_config_know_the_option():
    settings = build_settings(logs=True)
    assert settings.logs is True and build_settings().logs is False
    from telemetry_stack.settings import describe

    assert ("logs", "true", "flag") in describe(build_settings(logs=True, sources={"logs": "flag"}))
    assert ("logs", "false", "default") in describe(build_settings())


class _EmptyEngine:
    """An engine holding nothing: doctor's findings then name every port, image and volume `up` would use."""

    name = "docker"

    def containers(self, labels):
        return []

    def image_present(self, ref):
        return False

    def volume(self, name):
        return None


def test_doctor_checks_loki_only_with_logs():
    from telemetry_stack import doctor

    def titles(**settings):
        return [c.title for c in doctor._stack_checks(_EmptyEngine(), build_settings(ports_auto=True, **settings))]

    import socket

    with socket.socket() as probe:  # a port free now: under --ports auto only the named one is checked
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert [t for t in titles(ports=[f"loki={port}"]) if "loki" in t] == []
    assert [t for t in titles(logs=True, ports=[f"loki={port}"]) if "loki" in t] == [
        f"port {port} (loki)",
        "image loki",
        "volume llama-telemetry-loki-data",
    ]
