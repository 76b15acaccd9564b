"""The stack comes back by itself: after one service's process dies, and after the engine daemon restarts (the
suite's own dockerd and Podman API service, as `scripts/setup-engines.sh` starts them), healthy again without `up`,
with the data Prometheus held before. Last in the engine suite: it restarts the engine."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli, skip_or_fail
from tests.dashboard_queries import PrometheusAPI
from tests.engine.conftest import deployed, engine_cli, published_urls

SETUP = Path(__file__).resolve().parents[2] / "scripts" / "setup-engines.sh"
# Docker: back with the daemon unless the user stopped it. Podman: always (podman-restart.service starts only those).
POLICIES = {"docker": "unless-stopped", "podman": "always"}
# The daemon processes setup-engines.sh starts, as pgrep -f finds them.
DAEMONS = {
    "docker": "^dockerd --host unix:///var/run/docker.sock",
    "podman": "^podman system service --time=0 unix:///run/podman/podman.sock",
}
BACK_WITHIN = 120  # seconds: the daemon's own restart, then each service's start-up


@pytest.fixture
def stack(engine_name, images):
    with deployed(engine_name, images, "restart", "--verify") as (env, up):
        assert up.json["verify"]["ok"], up.stdout
        token = up.json["verify"]["service_name"].rpartition("-")[2]
        yield env, PrometheusAPI(published_urls(up.json)["prometheus"]), token


def _inspect(engine_name: str, container: str, field: str) -> str:
    result = engine_cli(engine_name, "inspect", "--format", "{{" + field + "}}", container)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _healthy_again(env: dict, since: float) -> dict:
    deadline = time.monotonic() + BACK_WITHIN
    while True:
        status = run_cli("status", "--json", env=env)
        if status.code == 0 and status.json["healthy"]:
            return status.json
        assert time.monotonic() < deadline, (
            f"not healthy {time.monotonic() - since:.0f} s later: {status.stdout}{status.stderr}"
        )
        time.sleep(1)


def _data_intact(api: PrometheusAPI, token: str) -> None:
    """The sample `verify` sent before the restart is still in Prometheus (read from its data volume)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            if api.query(f'last_over_time(ogx_telemetry_verify{{verify_id="{token}"}}[1h])'):
                return
        except Exception:  # Prometheus still replaying its write-ahead log
            pass
        assert time.monotonic() < deadline, "the sample sent before the restart is gone"
        time.sleep(1)


def test_every_container_comes_back_with_the_engine_and_status_says_whether_after_a_reboot(engine_name, stack):
    env, _, _ = stack
    for service in ("jaeger", "otel-collector", "prometheus", "grafana"):
        assert _inspect(engine_name, f"restart-{service}", ".HostConfig.RestartPolicy.Name") == POLICIES[engine_name]
    reboot = run_cli("status", "--json", env=env).json["after_reboot"]
    if engine_name == "docker":
        assert reboot["comes_back"] is True and "unless-stopped" in reboot["detail"]
    else:  # what systemd says of the unit that starts Podman's containers at boot, asked here independently
        state = subprocess.run(
            ["systemctl", "is-enabled", "podman-restart.service"], capture_output=True, text=True
        ).stdout.strip()
        assert reboot["comes_back"] is (state == "enabled"), (state, reboot)
        if state != "enabled":
            assert reboot["fix"] == "sudo systemctl enable podman-restart.service"
    text = run_cli("status", env=env).stdout
    assert "After a reboot: " in text


def test_a_killed_service_comes_back_with_its_data(engine_name, stack):
    env, api, token = stack
    pid = int(_inspect(engine_name, "restart-prometheus", ".State.Pid"))
    assert pid > 0
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)  # from the host, as the kernel's OOM killer would: not a user's stop
    _healthy_again(env, killed)
    assert int(_inspect(engine_name, "restart-prometheus", ".State.Pid")) not in (0, pid)
    _data_intact(api, token)


def _restart_daemon(engine_name: str) -> float:
    """Stop the engine daemon, start it again as setup-engines.sh does; return when it was stopped."""
    if os.geteuid() != 0:
        skip_or_fail(engine_name, "restarting the engine daemon needs root")
    found = subprocess.run(["pgrep", "-f", DAEMONS[engine_name]], capture_output=True, text=True).stdout.split()
    if len(found) != 1:
        skip_or_fail(engine_name, f"the {engine_name} daemon here is not the one scripts/setup-engines.sh starts")
    pid = int(found[0])
    stopped = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    try:
        deadline = time.monotonic() + 60
        while Path(f"/proc/{pid}").exists():
            assert time.monotonic() < deadline, f"the {engine_name} daemon did not stop"
            time.sleep(0.2)
    finally:  # whatever happened, the rest of the suite gets its engine back
        started = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=300)
        assert started.returncode == 0, started.stdout + started.stderr
    return stopped


def test_the_stack_comes_back_after_the_engine_restarts(engine_name, stack):
    env, api, token = stack
    stopped = _restart_daemon(engine_name)
    _healthy_again(env, stopped)
    _data_intact(api, token)


def test_a_container_the_user_stopped_stays_stopped_after_the_engine_restarts(engine_name, stack):
    """Docker's unless-stopped; on Podman the API service restart leaves every container as it was."""
    env, _, _ = stack
    assert engine_cli(engine_name, "stop", "restart-jaeger").returncode == 0
    _restart_daemon(engine_name)
    deadline = time.monotonic() + BACK_WITHIN
    while True:
        states = {s["name"]: s["state"] for s in run_cli("status", "--json", env=env).json["services"]}
        if all(states[s] == "running" for s in ("otel-collector", "prometheus", "grafana")):
            break
        assert time.monotonic() < deadline, states
        time.sleep(1)
    assert states["jaeger"] == "exited", states
