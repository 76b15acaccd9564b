"""Rendered files parse, and the collector's pipelines only reference components it defines."""

import json

import yaml

from telemetry_stack.render import render_files
from telemetry_stack.stack import build_stack
from telemetry_stack.settings import build_settings

FILES = render_files()


def _yaml(path: str) -> dict:
    return yaml.safe_load(FILES[path])


def test_every_file_parses():
    assert len([p for p in FILES if p.endswith(".json")]) == 6
    for path, content in FILES.items():
        parsed = json.loads(content) if path.endswith(".json") else yaml.safe_load(content)
        assert isinstance(parsed, dict), path


def test_collector_pipeline_graph_is_closed():
    config = _yaml("otel-collector/config.yaml")
    for name in config["service"]["extensions"]:
        assert name in config["extensions"]
    for pipeline in config["service"]["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in config[kind], f"{component} is not defined under {kind}"
    # Every defined component is used somewhere (a typo would leave one orphaned).
    used = {c for p in config["service"]["pipelines"].values() for k in ("receivers", "processors", "exporters") for c in p.get(k, [])}
    for kind in ("receivers", "processors", "exporters"):
        assert set(config[kind]) <= used


def test_collector_listens_where_the_host_can_reach_it():
    config = _yaml("otel-collector/config.yaml")
    assert config["extensions"]["health_check"]["endpoint"] == "0.0.0.0:13133"
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "0.0.0.0:4318"
    assert config["exporters"]["otlp_grpc/jaeger"]["endpoint"] == "jaeger:4317"
    metrics = config["service"]["pipelines"]["metrics"]
    assert metrics["processors"][0] == "memory_limiter" and "batch" in metrics["processors"]
    # No exporter namespace: that would double the prefix of Llama Stack's own llama_stack.* instruments.
    assert "namespace" not in config["exporters"]["prometheus"]
    assert config["exporters"]["prometheus"]["translation_strategy"] == "UnderscoreEscapingWithSuffixes"
    assert config["processors"]["transform/llama_stack_prefix"]["metric_statements"] == [
        {
            "context": "metric",
            "statements": ['set(metric.name, Concat(["llama_stack", metric.name], ".")) where not IsMatch(metric.name, "^llama_stack[.]")'],
        }
    ]
    # Fixed limits: percentages alone make the collector refuse to start where it cannot read its memory limit.
    assert config["processors"]["memory_limiter"] == {"check_interval": "1s", "limit_mib": 512, "spike_limit_mib": 128}


def test_prometheus_scrapes_the_collector_and_itself():
    config = _yaml("prometheus/prometheus.yml")
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert targets == {"otel-collector": ["otel-collector:8889"], "prometheus": ["localhost:9090"]}


def test_grafana_datasources_and_dashboard_provider():
    sources = {d["type"]: d for d in _yaml("grafana/provisioning/datasources/llama-telemetry.yaml")["datasources"]}
    assert sources["prometheus"]["isDefault"] is True and sources["prometheus"]["uid"] == "llama-telemetry-prometheus"
    assert sources["prometheus"]["url"] == "http://prometheus:9090"
    assert sources["jaeger"]["url"] == "http://jaeger:16686"
    provider = _yaml("grafana/provisioning/dashboards/llama-telemetry.yaml")["providers"][0]
    assert provider["type"] == "file" and provider["options"]["path"] == "/etc/grafana/dashboards/llama-stack"


def test_stack_places_files_and_hashes_config():
    stack = build_stack(build_settings())
    grafana = stack.service("grafana")
    assert "/etc/grafana/dashboards/llama-stack/llama-stack-overview.json" in grafana.files
    assert set(stack.service("otel-collector").files) == {"/etc/otelcol-contrib/config.yaml"}
    assert stack.service("jaeger").files == {}
    other = build_stack(build_settings(ports=["grafana=3001"]))
    changed = {s.name for s, t in zip(stack.services, other.services) if s.config_hash != t.config_hash}
    assert changed == {"grafana"}
    assert build_stack(build_settings()).service("grafana").config_hash == grafana.config_hash


def test_projects_get_their_own_names():
    default, other = build_stack(build_settings()), build_stack(build_settings(project="ci"))
    assert default.network == "llama-telemetry" and default.service("grafana").container.name == "grafana"
    assert other.network == "llama-telemetry-ci" and other.service("grafana").container.name == "ci-grafana"
    assert other.service("grafana").container.aliases == ("grafana",)
    assert set(default.volumes).isdisjoint(other.volumes)
