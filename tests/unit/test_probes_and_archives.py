"""How `up` and `status` reach a service (probe URLs, which host, a probe's verdict), and what `up` copies into a
container (the rendered files as a tar): expectations written out here."""

from __future__ import annotations

import io
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from telemetry_stack.health import http_url, probe, reachable_host
from telemetry_stack.settings import build_settings
from telemetry_stack.stack import Service, build_stack


@pytest.mark.parametrize(
    "host_ip, engine_url, expected",
    [
        ("127.0.0.1", "unix:///var/run/docker.sock", "127.0.0.1"),
        ("0.0.0.0", "unix:///var/run/docker.sock", "127.0.0.1"),  # published on every address: ask loopback
        ("", "unix:///run/podman/podman.sock", "127.0.0.1"),
        ("::", "unix:///var/run/docker.sock", "::1"),
        ("192.168.1.5", "unix:///var/run/docker.sock", "192.168.1.5"),
        ("127.0.0.1", "tcp://build-box:2375", "build-box"),  # a remote engine publishes on its own machine
        ("0.0.0.0", "ssh://me@build-box", "build-box"),
        ("127.0.0.1", "tcp://localhost:2375", "127.0.0.1"),
        ("127.0.0.1", "http://127.0.0.1:2375", "127.0.0.1"),
    ],
)
def test_a_published_port_is_reached_on_the_engines_machine(host_ip, engine_url, expected):
    assert reachable_host(host_ip, engine_url) == expected


def test_urls_bracket_ipv6_literals():
    assert http_url("127.0.0.1", 3000) == "http://127.0.0.1:3000"
    assert http_url("::1", 3000, "/api/health") == "http://[::1]:3000/api/health"
    assert http_url("build-box", 9090, "/-/ready") == "http://build-box:9090/-/ready"


class _Service:
    """An HTTP service answering each path with a fixed status, recording what it was asked."""

    def __init__(self, answers: dict[str, int]) -> None:
        self.asked: list[tuple[str, dict[str, str]]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                service.asked.append((self.path, dict(self.headers)))
                self.send_response(answers.get(self.path, 404))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_probe_is_healthy_only_on_200_and_never_raises():
    service = _Service({"/ready": 200, "/starting": 503})
    try:
        assert probe(service.base + "/ready") is True
        assert probe(service.base + "/starting") is False
        assert probe(service.base + "/missing") is False
        assert probe(service.base) is False  # asks "/", answered 404 here
        assert probe(service.base + "/ready", headers={"Authorization": "Basic x"}) is True
        assert [path for path, _ in service.asked] == ["/ready", "/starting", "/missing", "/", "/ready"]
        assert service.asked[-1][1]["Authorization"] == "Basic x"
        assert all(headers["Connection"] == "close" for _, headers in service.asked)
    finally:
        service.close()
    assert probe(service.base + "/ready", timeout=0.2) is False  # nothing listens any more


def test_the_archive_holds_each_rendered_file_root_owned_and_read_only():
    service: Service = build_stack(build_settings()).service("prometheus")
    with tarfile.open(fileobj=io.BytesIO(service.archive())) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["etc/prometheus/prometheus.yml"]  # extracted at /
        (member,) = members
        assert (member.uid, member.gid, member.mode, member.isfile()) == (0, 0, 0o644, True)
        assert member.mtime > 1_700_000_000  # now: Grafana notices a changed dashboard by its mtime too
        assert tar.extractfile(member).read() == service.files["/etc/prometheus/prometheus.yml"]
