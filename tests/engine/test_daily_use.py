"""Daily-use commands on the real engines: projects side by side, --ports auto, env, logs, open, doctor."""

from __future__ import annotations

import json
import signal

import pytest

from telemetry_stack.stack import project_labels, resource_names
from tests.conftest import spawn_cli


def test_two_projects_run_side_by_side_with_auto_ports(tele, engine):
    default = tele("up", "--json")
    assert default.code == 0, default.stderr
    other = tele("up", "--json", "--project", "side", "--ports", "auto")
    assert other.code == 0, other.stderr
    try:
        side = other.json
        assert side["project"] == "side" and side["network"] == "llama-telemetry-side"
        assert {s["container"] for s in side["services"]} == {
            "side-jaeger",
            "side-otel-collector",
            "side-prometheus",
            "side-grafana",
        }
        default_ports = {url for s in default.json["services"] for url in s["urls"].values()}
        side_ports = {url for s in side["services"] for url in s["urls"].values()}
        assert default_ports.isdisjoint(side_ports)

        # --ports auto keeps the ports a running stack has: nothing is recreated.
        again = tele("up", "--json", "--project", "side", "--ports", "auto")
        assert again.code == 0, again.stderr
        assert {s["action"] for s in again.json["services"]} == {"unchanged"}
        assert {url for s in again.json["services"] for url in s["urls"].values()} == side_ports

        status = tele("status", "--json", "--project", "side")
        assert status.code == 0 and {u for s in status.json["services"] for u in s["urls"].values()} == side_ports

        env = tele("env", "--project", "side", "--format", "json")
        assert env.code == 0, env.stderr
        assert json.loads(env.stdout)["OTEL_EXPORTER_OTLP_ENDPOINT"] == side["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    finally:
        removed = tele("down", "--project", "side", "--volumes", "--json")
    assert removed.code == 0, removed.stderr
    assert sorted(removed.json["removed_containers"]) == [
        "side-grafana",
        "side-jaeger",
        "side-otel-collector",
        "side-prometheus",
    ]
    # The default project is untouched by the other project's down.
    assert len(engine.containers(project_labels("default"))) == 4
    assert engine.network(resource_names("default")[0]) is not None


def test_env_formats(tele):
    assert tele("up").code == 0
    shell = tele("env")
    assert shell.code == 0 and "export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318" in shell.stdout
    assert "export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf" in shell.stdout
    dotenv = tele("env", "--format", "dotenv", "--service-name", "my-app")
    assert dotenv.stdout.splitlines() == [
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
        "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=base2_exponential_bucket_histogram",
        "OTEL_LOGS_EXPORTER=none",
        "OTEL_SERVICE_NAME=my-app",
    ]
    # The service name defaults to the server's own: OGX's, or Llama Stack's with --naming llama-stack.
    assert tele("env", "--format", "github").stdout == dotenv.stdout.replace("my-app", "ogx")
    assert tele("env", "--format", "github", "--naming", "llama-stack").stdout == dotenv.stdout.replace(
        "my-app", "llama-stack"
    )
    classic = tele("env", "--format", "dotenv", "--histograms", "classic").stdout.splitlines()
    assert classic == [line for line in dotenv.stdout.replace("my-app", "ogx").splitlines() if "HISTOGRAM" not in line]
    assert tele("env", "--format", "xml").code == 2
    for bad in (("--naming", "llama_stack"), ("--histograms", "native")):
        result = tele("env", *bad)
        assert result.code == 2 and bad[1] in result.stderr and "Traceback" not in result.stderr


def test_env_without_a_stack_fails_clearly(tele):
    result = tele("env")
    assert result.code == 1 and "not deployed" in result.stderr and result.stdout == ""


def test_logs_and_open(tele, stack_env):
    quiet = tele("up", "--quiet")
    assert quiet.code == 0 and quiet.stdout == "" and quiet.stderr == ""
    logs = tele("logs", "grafana", "--tail", "50")
    assert logs.code == 0 and "file=/etc/grafana/dashboards/llama-stack/llama-stack-overview.json" in logs.stdout
    assert tele("logs", "nginx").code == 2
    # --follow keeps streaming until interrupted, then ends quietly.
    follower = spawn_cli("logs", "jaeger", "--follow", "--tail", "1", env=stack_env)
    first_line = follower.stdout.readline()
    follower.send_signal(signal.SIGINT)
    _, follow_err = follower.communicate(timeout=10)
    assert first_line.strip() and follower.returncode == 0 and "Traceback" not in follow_err
    opened = tele("open", "jaeger")
    assert opened.code == 0 and opened.stdout.strip() == "http://127.0.0.1:16686"  # no terminal: the URL is printed


def test_doctor_reports_engine_ports_and_images(tele, engine_name):
    assert tele("up").code == 0
    result = tele("doctor", "--json")
    assert result.code == 0, result.stdout + result.stderr
    checks = {c["title"]: c for c in result.json["checks"]}
    assert checks["engine choice"]["detail"].startswith(engine_name)
    assert checks["port 3000 (grafana)"]["detail"] == "held by our container grafana (project default)"
    assert checks["image grafana"]["status"] == "ok"
    assert any(title.startswith(f"{engine_name} engine") for title in checks)


def test_config_file_is_used_and_flags_win(tele, tmp_path):
    config = tmp_path / "llama-telemetry.yaml"
    config.write_text("project: fromfile\nports:\n  grafana: 3005\n")
    shown = tele("config", "--config", str(config), "--json", "--port", "prometheus=9095")
    assert shown.code == 0, shown.stderr
    settings = shown.json["settings"]
    assert settings["project"] == {"value": "fromfile", "source": f"file {config}"}
    assert settings["ports.grafana"]["value"] == "3005" and settings["ports.prometheus"] == {
        "value": "9095",
        "source": "flag",
    }
    assert settings["pull"]["source"] == "env LLAMA_TELEMETRY_PULL"

    deployed = tele("up", "--config", str(config), "--json")
    try:
        assert deployed.code == 0, deployed.stderr
        assert deployed.json["project"] == "fromfile" and deployed.json["grafana"]["url"] == "http://127.0.0.1:3005"
    finally:
        assert tele("down", "--config", str(config), "--volumes").code == 0


def test_verify_proves_the_pipeline_end_to_end(tele):
    """Through the real programs: span -> collector -> Jaeger's query API, metric -> collector -> Prometheus."""
    up = tele("up", "--verify", "--json", "--grafana-password", "s3cret-pw")
    assert up.code == 0, up.stdout + up.stderr
    steps = up.json["verify"]["steps"]
    assert [s["step"] for s in steps] == [
        "send a span over OTLP/HTTP",
        "find it in Jaeger",
        "send a metric over OTLP/HTTP",
        "find it in Prometheus",
        "check Grafana's datasources",
    ]
    assert all(s["ok"] for s in steps) and all(s["seconds"] < 30 for s in steps)

    again = tele("verify", "--grafana-password", "s3cret-pw")
    assert again.code == 0, again.stdout + again.stderr
    assert "find it in Prometheus" in again.stdout

    wrong = tele("verify", "--grafana-password", "wrong", "--timeout", "5", "--json")
    assert wrong.code == 1
    failed = [s for s in wrong.json["steps"] if not s["ok"]]
    assert failed[0]["step"] == "check Grafana's datasources" and "refused the admin login" in failed[0]["detail"]


def test_verify_without_a_stack_says_so(tele):
    result = tele("verify")
    assert result.code == 1 and "llama-telemetry up" in result.stderr


def test_demo_sends_to_the_running_stack(tele):
    pytest.importorskip("opentelemetry.sdk", reason="the demo extra is not installed")
    assert tele("up").code == 0
    result = tele("demo", "--duration", "3", "--rate", "5", "--json")
    assert result.code == 0, result.stderr
    assert result.json["requests"] > 0 and result.json["spans"] > 0 and result.json["export_errors"] == 0
    assert (result.json["naming"], result.json["service_name"]) == ("ogx", "ogx-demo")
    assert [d["uid"] for d in result.json["dashboards"]][0] == "llama-stack-overview"
