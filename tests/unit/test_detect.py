"""Engine detection: where we look, in which order, and how a missing engine is explained."""

import hashlib
import http.server
import json
import socketserver
import threading
import time
from pathlib import Path

import pytest

from telemetry_stack.engines.detect import detect, docker_candidates, ping, podman_candidates
from telemetry_stack.errors import EngineUnavailable


class _PingHandler(http.server.BaseHTTPRequestHandler):
    libpod = False

    def do_GET(self):
        self.send_response(200 if self.path == "/_ping" else 404)
        if self.libpod:
            self.send_header("Libpod-Api-Version", "4.3.1")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        request, _ = super().get_request()
        return request, ("local", 0)


@pytest.fixture
def fake_engine(tmp_path):
    """A unix socket answering /_ping like an engine would (not an SDK mock: detection speaks raw HTTP)."""
    servers = []

    def start(name: str, libpod: bool = False) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = type("Handler", (_PingHandler,), {"libpod": libpod})
        server = _UnixServer(str(path), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return path

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_docker_host_overrides_everything(tmp_path):
    found = docker_candidates({"DOCKER_HOST": "tcp://10.0.0.5:2375"}, tmp_path)
    assert [c.url for c in found] == ["tcp://10.0.0.5:2375"]


def test_docker_context_is_read(tmp_path):
    meta = tmp_path / ".docker/contexts/meta" / hashlib.sha256(b"colima").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Endpoints": {"docker": {"Host": "unix:///x/colima.sock"}}}))
    (tmp_path / ".docker/config.json").write_text(json.dumps({"currentContext": "colima"}))
    found = docker_candidates({}, tmp_path)
    assert found[0].url == "unix:///x/colima.sock" and "colima" in found[0].source
    assert "unix:///var/run/docker.sock" in [c.url for c in found]


def test_podman_sockets_rootless_first_then_rootful_then_machine(tmp_path):
    machine = tmp_path / ".local/share/containers/podman/machine/qemu/podman.sock"
    machine.parent.mkdir(parents=True)
    machine.touch()
    found = podman_candidates({"XDG_RUNTIME_DIR": "/run/user/1000", "TMPDIR": str(tmp_path)}, tmp_path)
    assert [c.url for c in found] == [
        "unix:///run/user/1000/podman/podman.sock",
        "unix:///run/podman/podman.sock",
        f"unix://{machine}",
    ]
    assert [c.url for c in podman_candidates({"CONTAINER_HOST": "unix:///c.sock"}, tmp_path)] == ["unix:///c.sock"]


def test_ping_tells_docker_from_podman(fake_engine):
    docker_sock, podman_sock = fake_engine("d.sock"), fake_engine("p.sock", libpod=True)
    assert ping(f"unix://{docker_sock}").ok and not ping(f"unix://{docker_sock}").libpod
    assert ping(f"unix://{podman_sock}").libpod
    assert ping("unix:///nonexistent.sock").error == "no such socket"


def test_auto_detection_prefers_docker_and_uses_podman_sdk_for_podman_sockets(fake_engine, tmp_path):
    docker_sock, podman_sock = fake_engine("d.sock"), fake_engine("p.sock", libpod=True)
    both = {"DOCKER_HOST": f"unix://{docker_sock}", "CONTAINER_HOST": f"unix://{podman_sock}"}
    assert detect(None, both, tmp_path).engine == "docker"
    only_podman = {"DOCKER_HOST": "unix:///nonexistent.sock", "CONTAINER_HOST": f"unix://{podman_sock}"}
    assert detect(None, only_podman, tmp_path).url == f"unix://{podman_sock}"
    compat = detect(None, {"DOCKER_HOST": f"unix://{podman_sock}", "CONTAINER_HOST": "unix:///none.sock"}, tmp_path)
    assert compat.engine == "podman" and "served by Podman" in compat.source


def test_nothing_answers_quickly_with_what_was_tried_and_how_to_fix(tmp_path):
    dead = tmp_path / "dead.sock"
    dead.touch()  # a stale socket file: connection refused
    env = {"DOCKER_HOST": f"unix://{dead}", "CONTAINER_HOST": "unix:///nonexistent.sock", "HOME": str(tmp_path)}
    started = time.monotonic()
    with pytest.raises(EngineUnavailable) as caught:
        detect(None, env, tmp_path)
    # Refused and missing sockets fail at once; the bound only has to be below the 1 s ping timeout per candidate
    # that a hanging engine would cost, with room for a loaded machine.
    assert time.monotonic() - started < 3
    message = caught.value.one_line()
    assert str(dead) in message and "/nonexistent.sock" in message
    assert "systemctl --user start podman.socket" in message and "Docker" in message


def test_requested_podman_without_service_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    fake_podman = tmp_path / "podman"
    fake_podman.write_text("#!/bin/sh\n")
    fake_podman.chmod(0o755)
    with pytest.raises(EngineUnavailable) as caught:
        detect("podman", {"CONTAINER_HOST": "unix:///nonexistent.sock"}, tmp_path)
    assert "Podman is installed but its API service is not running" in caught.value.one_line()
    assert "podman system service --time=0" in caught.value.one_line()


def test_docker_host_with_tls_is_left_to_the_sdk(tmp_path):
    found = detect("docker", {"DOCKER_HOST": "tcp://203.0.113.9:2376", "DOCKER_TLS_VERIFY": "1"}, tmp_path)
    assert found.tls and found.source == "DOCKER_HOST with TLS"  # no plain-HTTP ping against a TLS port
