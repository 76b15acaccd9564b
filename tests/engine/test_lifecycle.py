"""The deployer end to end on the real engines: up, status, idempotent up, down, volumes."""

from __future__ import annotations

import base64
import json
import time
import urllib.request

from telemetry_stack.stack import project_labels
from tests.engine.conftest import assert_not_deployed, engine_cli, stack_names

NETWORK, CONTAINERS, VOLUMES = stack_names("default")


def _ids(summary: dict) -> dict[str, str]:
    return {s["name"]: s["id"] for s in summary["services"]}


def _volume_names(engine_name: str) -> set[str]:
    listed = engine_cli(engine_name, "volume", "ls", "-q")
    assert listed.returncode == 0, listed.stderr
    return set(listed.stdout.split())


def test_up_status_up_down_volumes(tele, engine, engine_name):
    volumes_before = _volume_names(engine_name)
    first = tele("up", "--json")
    assert first.code == 0, first.stderr
    summary = first.json
    assert summary["engine"] == engine_name and summary["healthy"] is True
    assert [s["name"] for s in summary["services"]] == ["jaeger", "otel-collector", "prometheus", "grafana"]
    assert {s["action"] for s in summary["services"]} == {"created"}
    assert summary["env"] == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION": "base2_exponential_bucket_histogram",
        "OTEL_LOGS_EXPORTER": "none",
    }
    assert "admin" not in first.stdout.replace('"user": "admin"', "")  # the password never appears in JSON
    assert f"Using {engine_name}" in first.stderr  # which engine and socket were chosen
    # Ready means ready: Grafana's provisioned dashboards answer the moment `up` returns (Grafana, and its
    # stand-in, answer /api/health before they have provisioned them).
    login = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}
    request = urllib.request.Request("http://127.0.0.1:3000/api/dashboards/uid/llama-stack-overview", headers=login)
    assert urllib.request.urlopen(request, timeout=5).status == 200

    # Every resource carries our labels; configs were copied in (no bind mounts) and the services use them.
    ours = engine.containers(project_labels("default"))
    assert sorted(c.name for c in ours) == sorted(CONTAINERS.values())
    assert all(c.running and NETWORK in c.networks for c in ours)
    assert engine.network(NETWORK).labels["io.llama-telemetry.managed"] == "true"
    # Every bound port is exposed (Docker publishes nothing for a port the container does not expose, and
    # the real images do not expose all of ours, e.g. the collector's 13133), and really published.
    # (Podman's own inspect lists every exposed port under NetworkSettings.Ports, unbound ones as null.)
    for inspected in json.loads(engine_cli(engine_name, "inspect", *CONTAINERS.values()).stdout):
        bound = {port for port, hosts in (inspected["HostConfig"]["PortBindings"] or {}).items() if hosts}
        ports = inspected["NetworkSettings"]["Ports"] or {}
        exposed = set(inspected["Config"].get("ExposedPorts") or ports)
        assert bound and bound <= exposed, inspected["Name"]
        assert {port for port, hosts in ports.items() if hosts} == bound, inspected["Name"]
    loaded = urllib.request.urlopen("http://127.0.0.1:9090/api/v1/status/config", timeout=5).read().decode()
    assert "otel-collector:8889" in loaded  # the real Prometheus loaded our rendered prometheus.yml

    status = tele("status", "--json")
    assert status.code == 0, status.stderr
    by_name = {s["name"]: s for s in status.json["services"]}
    assert all(s["state"] == "running" and s["healthy"] for s in by_name.values())
    assert by_name["grafana"]["urls"] == {"grafana": "http://127.0.0.1:3000"}
    assert by_name["otel-collector"]["urls"]["otlp-grpc"] == "http://127.0.0.1:4317"

    started = time.monotonic()
    second = tele("up", "--json")
    assert second.code == 0, second.stderr
    assert {s["action"] for s in second.json["services"]} == {"unchanged"}
    assert _ids(second.json) == _ids(summary)  # same containers: nothing recreated
    assert time.monotonic() - started < 10

    down = tele("down", "--json")
    assert down.code == 0, down.stderr
    assert sorted(down.json["removed_containers"]) == sorted(CONTAINERS.values())
    assert down.json["removed_network"] == NETWORK
    assert sorted(down.json["kept_volumes"]) == sorted(VOLUMES.values())
    assert_not_deployed(engine)
    assert all(engine.volume(v) is not None for v in VOLUMES.values())  # data survives down

    again = tele("down")
    assert again.code == 0, again.stderr  # nothing deployed is not an error

    gone = tele("down", "--volumes", "--json")
    assert gone.code == 0, gone.stderr
    assert sorted(gone.json["removed_volumes"]) == sorted(VOLUMES.values())
    assert all(engine.volume(v) is None for v in VOLUMES.values())
    # Nothing left behind: not even the anonymous volume of Jaeger's VOLUME /tmp.
    assert _volume_names(engine_name) == volumes_before


def test_changed_port_recreates_only_that_service(tele, engine_name):
    first = tele("up", "--json")
    assert first.code == 0, first.stderr
    moved = tele("up", "--json", "--port", "grafana=3001")
    assert moved.code == 0, moved.stderr
    actions = {s["name"]: s["action"] for s in moved.json["services"]}
    assert actions == {
        "jaeger": "unchanged",
        "otel-collector": "unchanged",
        "prometheus": "unchanged",
        "grafana": "recreated",
    }
    ids_before, ids_after = _ids(first.json), _ids(moved.json)
    assert {k for k in ids_before if ids_before[k] != ids_after[k]} == {"grafana"}
    assert moved.json["grafana"]["url"] == "http://127.0.0.1:3001"

    # Recreating Jaeger takes the anonymous volume of its VOLUME /tmp along with the old container.
    volumes = _volume_names(engine_name)
    jaeger_moved = tele("up", "--json", "--port", "grafana=3001", "--port", "jaeger=16687")
    assert jaeger_moved.code == 0, jaeger_moved.stderr
    assert {s["name"]: s["action"] for s in jaeger_moved.json["services"]}["jaeger"] == "recreated"
    assert len(_volume_names(engine_name)) == len(volumes)


def test_status_when_nothing_is_deployed(tele):
    result = tele("status", "--json")
    assert result.code == 3
    assert {s["state"] for s in result.json["services"]} == {"missing"}
