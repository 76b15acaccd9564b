"""Rendered files parse, and the collector's pipelines only reference components it defines."""

import json
import re
import subprocess

import pytest
import yaml

from telemetry_stack.render import render_files
from telemetry_stack.settings import build_settings
from telemetry_stack.stack import build_stack

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
    used = {
        c
        for p in config["service"]["pipelines"].values()
        for k in ("receivers", "processors", "exporters")
        for c in p.get(k, [])
    }
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
    # OGX's ogx.* and Llama Stack's llama_stack.* keep their prefix; anything else is exported under both.
    assert config["processors"]["transform/server_prefix"]["metric_statements"] == [
        {
            "context": "metric",
            "statements": [
                'copy_metric(name=Concat(["llama_stack", metric.name], ".")) where not IsMatch(metric.name, "^(ogx|llama_stack)[.]")',
                'set(metric.name, Concat(["ogx", metric.name], ".")) where not IsMatch(metric.name, "^(ogx|llama_stack)[.]")',
            ],
        }
    ]
    assert config["service"]["pipelines"]["metrics"]["processors"] == [
        "memory_limiter",
        "transform/server_prefix",
        "batch",
    ]
    # Fixed limits: percentages alone make the collector refuse to start where it cannot read its memory limit.
    assert config["processors"]["memory_limiter"] == {"check_interval": "1s", "limit_mib": 512, "spike_limit_mib": 128}


def test_prometheus_scrapes_the_collector_and_itself():
    config = _yaml("prometheus/prometheus.yml")
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert targets == {"otel-collector": ["otel-collector:8889"], "prometheus": ["localhost:9090"]}
    collector = config["scrape_configs"][0]
    # job/instance from each app's service.name; native histograms for apps that send exponential ones.
    assert collector["honor_labels"] is True and collector["scrape_native_histograms"] is True


def test_prometheus_scrapes_ogx_and_prefixes_its_auto_instrumentation_metrics():
    config = yaml.safe_load(render_files(ogx_metrics="host.containers.internal:9464")["prometheus/prometheus.yml"])
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "ogx"]
    assert job["static_configs"] == [{"targets": ["host.containers.internal:9464"]}]
    (rule,) = job["metric_relabel_configs"]
    assert (rule["source_labels"], rule["target_label"], rule["replacement"]) == (
        ["__name__"],
        "__name__",
        "ogx_${1}${2}",
    )
    pattern = re.compile(rule["regex"])  # Prometheus anchors the regex at both ends
    renamed = {
        name: pattern.sub(lambda m: "ogx_" + m.group(1) + (m.group(2) or ""), name)
        for name in (
            "gen_ai_client_token_usage_sum",
            "http_server_duration_milliseconds_bucket",
            "http_server_active_requests",
            "ogx_requests_total",
            "process_cpu_seconds_total",
        )
        if pattern.fullmatch(name)
    }
    assert renamed == {
        "gen_ai_client_token_usage_sum": "ogx_gen_ai_client_token_usage_sum",
        "http_server_duration_milliseconds_bucket": "ogx_http_server_duration_milliseconds_bucket",
        "http_server_active_requests": "ogx_http_server_active_requests",
    }
    assert "job_name: ogx" not in render_files()["prometheus/prometheus.yml"].decode()


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
    changed = {s.name for s, t in zip(stack.services, other.services, strict=True) if s.config_hash != t.config_hash}
    assert changed == {"grafana"}
    assert build_stack(build_settings()).service("grafana").config_hash == grafana.config_hash


def test_projects_get_their_own_names():
    default, other = build_stack(build_settings()), build_stack(build_settings(project="ci"))
    assert default.network == "llama-telemetry" and default.service("grafana").container.name == "grafana"
    assert other.network == "llama-telemetry-ci" and other.service("grafana").container.name == "ci-grafana"
    assert other.service("grafana").container.aliases == ("grafana",)
    assert set(default.volumes).isdisjoint(other.volumes)


@pytest.mark.slow  # the first run builds promtool from Prometheus's Go module
def test_prometheus_configs_pass_the_real_promtool(tmp_path):
    """Both variants, checked by the promtool of the pinned Prometheus release, built from its Go module."""
    from tests.conftest import skip_or_fail
    from tests.engine import programs

    if programs.go_command() is None:
        skip_or_fail("go", "Go is not installed: promtool cannot be built")
    promtool = str(programs.tool_path("prometheus", "promtool"))
    for name, ogx in (("plain", None), ("ogx", "host.containers.internal:9464")):
        path = tmp_path / f"{name}.yml"
        path.write_bytes(render_files(ogx_metrics=ogx)["prometheus/prometheus.yml"])
        result = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr


def test_only_prometheus_reaches_the_host_and_only_for_a_port_on_it():
    def reaching(**kwargs):
        return {s.name for s in build_stack(build_settings(**kwargs)).services if s.container.reach_host}

    assert reaching() == set()
    assert reaching(ogx_metrics="9464") == {"prometheus"}
    assert reaching(ogx_metrics="ogx:9464") == set()
