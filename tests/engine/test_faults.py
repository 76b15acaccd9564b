"""Faults on the real engines (issue: fast and hard to break): crashes, Ctrl-C, concurrent `up`s,
resources changed behind our back, the engine going away, unreadable config, data that must survive."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tarfile
import threading
import time
import urllib.parse
import urllib.request

from telemetry_stack.stack import project_labels
from tests.conftest import spawn_cli
from tests.engine.conftest import engine_cli, stack_names
from tests.engine.images import locked_collector_image

NETWORK, CONTAINERS, VOLUMES = stack_names("default")


def _wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_ctrl_c_during_up_leaves_a_state_that_up_and_down_complete(tele, stack_env, engine, image_env, images):
    # Grafana never gets healthy with this image, so `up` is still waiting when we interrupt it.
    process = spawn_cli("up", "--timeout", "60", env={**stack_env, **image_env(grafana=images["jaeger"])})
    _wait_until(lambda: len(engine.containers(project_labels("default"))) == 4)
    time.sleep(0.3)
    interrupted_at = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=10)
    assert time.monotonic() - interrupted_at < 3
    assert process.returncode == 130
    assert "Interrupted; left as it is: jaeger running" in stderr and "llama-telemetry down" in stderr
    assert "Traceback" not in stderr

    finished = tele("up", "--json")
    assert finished.code == 0, finished.stderr
    assert {s["name"]: s["action"] for s in finished.json["services"]}["grafana"] == "recreated"
    down = tele("down", "--json")
    assert down.code == 0 and len(down.json["removed_containers"]) == 4
    assert engine.containers(project_labels("default")) == []


def test_two_ups_at_once_never_duplicate(tele, stack_env, engine):
    first, second = spawn_cli("up", "--json", env=stack_env), spawn_cli("up", "--json", env=stack_env)
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    ids = [{s["name"]: s["id"] for s in json.loads(out)["services"]} for out, _ in outputs]
    assert ids[0] == ids[1]  # the second waited for the first, then found nothing to change
    assert len(engine.containers(project_labels("default"))) == 4
    assert any("waiting for it to finish" in err for _, err in outputs)


def test_changes_behind_our_back_are_reported_and_repaired(tele, engine, engine_name):
    assert tele("up").code == 0
    assert engine_cli(engine_name, "rm", "-f", "grafana").returncode == 0
    assert engine_cli(engine_name, "stop", "-t", "1", "jaeger").returncode == 0
    status = tele("status", "--json")
    assert status.code == 3
    states = {s["name"]: (s["state"], s["healthy"]) for s in status.json["services"]}
    assert states["grafana"] == ("missing", False) and states["jaeger"] == ("exited", False)
    assert states["prometheus"] == ("running", True)
    repaired = tele("up", "--json")
    assert repaired.code == 0, repaired.stderr
    actions = {s["name"]: s["action"] for s in repaired.json["services"]}
    assert actions == {
        "jaeger": "started",
        "otel-collector": "unchanged",
        "prometheus": "unchanged",
        "grafana": "created",
    }

    # The network deleted behind our back: Docker wants its containers stopped first (they stay, now
    # unable to start); Podman's `network rm -f` removes the containers with it.
    for name in CONTAINERS.values():
        engine_cli(engine_name, "stop", "-t", "1", name)
    force = ["-f"] if engine_name == "podman" else []
    assert engine_cli(engine_name, "network", "rm", *force, NETWORK).returncode == 0
    status = tele("status", "--json")
    assert status.code == 3 and status.json["network_present"] is False
    repaired = tele("up", "--json")
    assert repaired.code == 0, repaired.stderr
    expected = "created" if engine_name == "podman" else "recreated"
    assert {s["action"] for s in repaired.json["services"]} == {expected}
    assert engine.network(NETWORK) is not None


class _SocketProxy:
    """A unix socket that relays to the real engine socket until closed: the engine 'going away'."""

    def __init__(self, path: str, target: str):
        self.path, self.target = path, target
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(path)
        self.server.listen(16)
        self.connections: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target)
            self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.closed = True
        self.server.close()
        os.unlink(self.path)
        for s in self.connections:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


def test_engine_going_away_mid_command(tele, stack_env, engine, engine_name, image_env, images, tmp_path):
    target = engine.url.removeprefix("unix://")
    proxy = _SocketProxy(str(tmp_path / "engine.sock"), target)
    variable = "DOCKER_HOST" if engine_name == "docker" else "CONTAINER_HOST"
    env = {variable: f"unix://{proxy.path}", **image_env(grafana=images["jaeger"])}
    process = spawn_cli("up", "--timeout", "60", env={**stack_env, **env})
    try:
        _wait_until(lambda: len(engine.containers(project_labels("default"))) == 4)
        time.sleep(0.3)
        proxy.close()
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1
    assert "Lost the connection to" in stderr and "Traceback" not in stderr


def test_config_unreadable_by_the_service_user_is_explained(tele, engine_name, image_env):
    """The real collector in an image whose config directory its user cannot enter (root's, mode 0700)."""
    locked_ref = locked_collector_image(engine_name)
    result = tele("up", env=image_env(otel_collector=locked_ref))
    assert result.code == 1
    assert "otel-collector stopped before it became healthy" in result.stderr
    assert "permission denied" in result.stderr  # the service's own words, from its log
    assert "not readable" in result.stderr and "uid 10001" in result.stderr  # and our explanation


def test_data_survives_down_and_up(tele, engine_name):
    assert tele("up").code == 0
    marker = f"marker-{os.getpid()}"
    assert (
        engine_cli(engine_name, "exec", "grafana", "sh", "-c", f"echo {marker} > /var/lib/grafana/marker").returncode
        == 0
    )
    # Prometheus keeps what it scraped from the collector in its TSDB: verify's metric went through both.
    assert tele("verify").code == 0
    query = "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": "llama_stack_telemetry_verify"})
    _wait_until(lambda: json.loads(urllib.request.urlopen(query, timeout=5).read())["data"]["result"], timeout=30)
    scraped_at = time.time()

    assert tele("down").code == 0
    assert tele("up").code == 0
    read = engine_cli(engine_name, "exec", "grafana", "cat", "/var/lib/grafana/marker")
    assert read.stdout.strip() == marker
    before = "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode(
        {"query": "llama_stack_telemetry_verify", "time": f"{scraped_at:.3f}"}
    )
    _wait_until(lambda: json.loads(urllib.request.urlopen(before, timeout=5).read())["data"]["result"], timeout=30)


def _exported_member(engine_name: str, container: str, path: str) -> tarfile.TarInfo:
    with subprocess.Popen([engine_name, "export", container], stdout=subprocess.PIPE) as export:
        with tarfile.open(fileobj=export.stdout, mode="r|") as tar:
            found = next((m for m in tar if m.name.lstrip("/") == path.lstrip("/")), None)
        export.kill()
    assert found is not None, f"{path} is not in {container}"
    return found


def test_security_defaults(tele, engine_name):
    secret = "Pa$$ 'w0rd\" {{x}}\nfoo: bar"
    result = tele("up", "--json", "--grafana-password", secret)
    assert result.code == 0, result.stderr
    assert secret not in result.stdout and "w0rd" not in result.stdout + result.stderr
    status = tele("status", "--json")
    assert "w0rd" not in status.stdout
    inspected = json.loads(engine_cli(engine_name, "inspect", *CONTAINERS.values()).stdout)
    users = {c["Name"].lstrip("/"): c["Config"]["User"] for c in inspected}
    assert users == {"jaeger": "10001", "otel-collector": "10001", "prometheus": "65534", "grafana": "472"}
    for container in inspected:
        assert container["HostConfig"]["Privileged"] is False
        assert "no-new-privileges" in " ".join(container["HostConfig"].get("SecurityOpt") or [])
        bindings = [b for bs in container["HostConfig"]["PortBindings"].values() for b in bs or []]
        assert bindings and all(b["HostIp"] == "127.0.0.1" for b in bindings)
        assert not any(m.get("Type") == "bind" for m in container.get("Mounts", []))
    # Rendered configs are root-owned and read-only for the service users (copied in, not mounted).
    # Read from the container's exported file system: the collector image, like the real one, has no shell
    # or stat (and `podman cp` out of a container reports the container user as the owner).
    for name, path in (
        ("otel-collector", "/etc/otelcol-contrib/config.yaml"),
        ("grafana", "/etc/grafana/dashboards/llama-stack/llama-stack-overview.json"),
    ):
        member = _exported_member(engine_name, name, path)
        assert (member.uid, member.gid, oct(member.mode & 0o7777)) == (0, 0, "0o644"), (name, member)
    # The hostile password reached Grafana intact (it is an environment value, never rendered into a file).
    request = urllib.request.Request("http://127.0.0.1:3000/api/health")
    assert urllib.request.urlopen(request, timeout=5).status == 200
    env = engine_cli(engine_name, "exec", "grafana", "sh", "-c", 'printf %s "$GF_SECURITY_ADMIN_PASSWORD"').stdout
    assert env == secret
