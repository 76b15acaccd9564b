"""`render --format compose` output, run by a real compose implementation on the real engine.

Docker runs it with Debian's `docker-compose` (1.29), Podman with Debian's `podman-compose`; each stack uses
the suite's test images (the real programs), its own project and free host ports, and is always taken down again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from telemetry_stack.export import compose_files
from telemetry_stack.health import http_url, probe
from telemetry_stack.hostports import auto_ports
from telemetry_stack.render import write_files
from telemetry_stack.settings import build_settings
from telemetry_stack.stack import PROJECT_LABEL, build_stack
from tests.conftest import run_cli, skip_or_fail
from tests.engine.conftest import engine_cli

COMPOSE_TOOLS = {"docker": "docker-compose", "podman": "podman-compose"}
HEALTH_TIMEOUT = 90.0


def _compose(tool: str, directory: Path, project: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    argv = [tool, "-p", project, "-f", str(directory / "compose.yaml"), *args]
    return subprocess.run(argv, capture_output=True, text=True, cwd=directory, timeout=timeout)


def _leftovers(engine_name: str, project: str) -> dict[str, list[str]]:
    label = f"label={PROJECT_LABEL}={project}"
    found = {}
    for kind, argv in {
        "containers": ["ps", "-a", "--filter", label, "--format", "{{.Names}}"],
        "networks": ["network", "ls", "--filter", label, "--format", "{{.Name}}"],
        "volumes": ["volume", "ls", "--filter", label, "--format", "{{.Name}}"],
    }.items():
        found[kind] = engine_cli(engine_name, *argv).stdout.split()
    return found


def test_compose_project_runs_and_answers(engine_name, images, tmp_path):
    tool = COMPOSE_TOOLS[engine_name]
    if shutil.which(tool) is None:
        skip_or_fail(engine_name, f"{tool} is not installed (Debian package {tool})")

    project = f"compose-{engine_name}"
    ports = auto_ports(build_settings(), {})  # a free host port for every key
    settings = build_settings(
        project=project,
        images=[f"{svc}={ref}" for svc, ref in images.items()],
        ports=[f"{key}={port}" for key, port in ports.items()],
        grafana_password="s3cret-$HOME",  # a `$` must reach Grafana unexpanded
        logs=True,  # all five services
    )
    stack = build_stack(settings)
    write_files(compose_files(stack), tmp_path)
    urls = {s.name: http_url("127.0.0.1", ports[s.health.port_key], s.health.path) for s in stack.services}

    try:
        up = _compose(tool, tmp_path, project, "up", "-d")
        assert up.returncode == 0, f"{tool} up failed:\n{up.stdout}\n{up.stderr}"

        deadline = time.monotonic() + HEALTH_TIMEOUT
        waiting = dict(urls)
        while waiting and time.monotonic() < deadline:
            waiting = {name: url for name, url in waiting.items() if not probe(url)}
            if waiting:
                time.sleep(0.5)
        if waiting:
            logs = _compose(tool, tmp_path, project, "logs", timeout=60)
            pytest.fail(
                f"no answer within {HEALTH_TIMEOUT:g}s from {waiting}\n{logs.stdout[-4000:]}\n{logs.stderr[-2000:]}"
            )

        # The real Prometheus binary loaded the bind-mounted prometheus.yml.
        config_url = http_url("127.0.0.1", ports["prometheus"], "/api/v1/status/config")
        loaded = urllib.request.urlopen(config_url, timeout=5).read().decode()
        assert "otel-collector:8889" in loaded

        # The containers are what `up` would have created: names, labels, user, environment.
        for service in stack.services:
            spec = service.container
            details = json.loads(engine_cli(engine_name, "inspect", spec.name).stdout)[0]
            config = details["Config"]
            assert config["User"] == spec.user
            assert {k: config["Labels"].get(k) for k in spec.labels} == dict(spec.labels)
            env = dict(item.split("=", 1) for item in config["Env"] or [])
            assert {k: env.get(k) for k in spec.environment} == dict(spec.environment)
            # No anonymous volume, which `compose down` would leave behind: an image's VOLUME gets a tmpfs.
            anonymous = [
                m for m in details.get("Mounts") or [] if m.get("Type") == "volume" and m["Name"] not in spec.volumes
            ]
            assert anonymous == [], (service.name, anonymous)

        # `llama-telemetry status` recognises the compose-started stack as its own, healthy one.
        status = run_cli(
            "status",
            "--project",
            project,
            "--json",
            env={
                "LLAMA_TELEMETRY_CONTAINER": engine_name,
                "LLAMA_TELEMETRY_PORT": " ".join(f"{k}={v}" for k, v in ports.items()),
            },
        )
        assert status.code == 0, status.stdout + status.stderr
        assert status.json["healthy"] is True
    finally:
        try:
            down = _compose(tool, tmp_path, project, "down", "-v")
        except subprocess.TimeoutExpired as exc:
            down = subprocess.CompletedProcess(exc.cmd, 1, str(exc.stdout or ""), f"timed out after {exc.timeout}s")
        left = _leftovers(engine_name, project)
        if any(left.values()):  # never leave anything behind, whatever compose did
            for name in left["containers"]:
                engine_cli(engine_name, "rm", "-f", name)
            for name in left["networks"]:
                engine_cli(engine_name, "network", "rm", name)
            for name in left["volumes"]:
                engine_cli(engine_name, "volume", "rm", "-f", name)
    assert down.returncode == 0, f"{tool} down failed:\n{down.stdout}\n{down.stderr}"
    if tool == "podman-compose":
        left.pop("networks")  # podman-compose 1.0 (Debian 12) never removes networks on `down`
    assert not any(left.values()), f"{tool} down -v left {left}"
