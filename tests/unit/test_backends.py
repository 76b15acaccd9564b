"""What each backend asks of its SDK, and what reaches the engine.

Two layers, both with every expectation written out:

- SDK calls: `docker.APIClient` and `podman.PodmanClient` are replaced by recording fakes, which note every call
  with its arguments and answer with plausible values, computing nothing;
- the wire: the real docker-py and podman-py clients over a recording HTTP adapter, for the requests the engine
  receives (docker-py and podman-py translate arguments: a binding for a port the request does not expose is
  silently not published by Docker).

The specs come from the product's own `build_stack(build_settings(...))`: Prometheus (its data volume, its command,
and host-gateway because `--ogx-metrics 9464` scrapes the engine's host) and Grafana (secret environment, no
command), on project "demo", ports 19090 and 13000, bound to 127.0.0.2.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import docker
import docker.errors
import podman
import podman.errors
import pytest
import requests
import requests.adapters

from telemetry_stack.engines.docker_engine import DockerEngine
from telemetry_stack.engines.podman_engine import PodmanEngine
from telemetry_stack.errors import TelemetryError
from telemetry_stack.settings import build_settings
from telemetry_stack.stack import build_stack

INSPECT = Path(__file__).resolve().parent / "data" / "inspect"
STACK = build_stack(
    build_settings(
        project="demo",
        ports=["prometheus=19090", "grafana=13000"],
        bind="127.0.0.2",
        ogx_metrics="9464",
        grafana_password="s3cret-pw",
    )
)
PROMETHEUS, GRAFANA = STACK.service("prometheus").container, STACK.service("grafana").container
PROMETHEUS_LABELS = {
    "io.llama-telemetry.managed": "true",
    "io.llama-telemetry.project": "demo",
    "io.llama-telemetry.service": "prometheus",
    "io.llama-telemetry.config-hash": PROMETHEUS.labels["io.llama-telemetry.config-hash"],  # the input's own value
}
GRAFANA_LABELS = {
    "io.llama-telemetry.managed": "true",
    "io.llama-telemetry.project": "demo",
    "io.llama-telemetry.service": "grafana",
    "io.llama-telemetry.config-hash": GRAFANA.labels["io.llama-telemetry.config-hash"],
}
PROMETHEUS_COMMAND = ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
GRAFANA_ENVIRONMENT = {
    "GF_SECURITY_ADMIN_USER": "admin",
    "GF_SECURITY_ADMIN_PASSWORD": "s3cret-pw",
    "GF_USERS_ALLOW_SIGN_UP": "false",
    "GF_ANALYTICS_REPORTING_ENABLED": "false",
    "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
    "GF_PLUGINS_PREINSTALL_DISABLED": "true",
}
OURS = {"io.llama-telemetry.managed": "true", "io.llama-telemetry.project": "insprec"}


def recorded(name: str) -> dict:
    return json.loads((INSPECT / f"{name}.json").read_text(encoding="utf-8"))


def test_the_specs_are_what_the_expectations_below_assume():
    # Guards the literals: a change in services.py shows up here first, not as a puzzling backend failure.
    assert PROMETHEUS.labels == PROMETHEUS_LABELS and GRAFANA.labels == GRAFANA_LABELS
    assert len(PROMETHEUS_LABELS["io.llama-telemetry.config-hash"]) == 16
    assert (PROMETHEUS.reach_host, PROMETHEUS.restart, GRAFANA.reach_host, GRAFANA.restart) == (True, True, False, True)


# ------------------------------------------------------------------------------------------------ SDK-call fakes


class Fake:
    """Stands in for an SDK object: every method call is appended to the shared `calls` as (prefix + name, args,
    kwargs) and answered from `answers` by name: a value, a function of the call's arguments, or an exception to
    raise (None when not given). Plain attributes (a container's `id`, `attrs`) are set on the instance."""

    def __init__(self, calls: list, prefix: str = "", **answers):
        self._calls, self._prefix, self._answers = calls, prefix, answers

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def method(*args, **kwargs):
            self._calls.append((self._prefix + name, args, kwargs))
            answer = self._answers.get(name)
            if isinstance(answer, BaseException):
                raise answer
            return answer(*args, **kwargs) if callable(answer) else answer

        return method


HOST_CONFIG = {"from": "create_host_config"}  # what the fake's docker-py helpers answer, to follow where each goes
ENDPOINT_CONFIG = {"from": "create_endpoint_config"}
NETWORKING_CONFIG = {"from": "create_networking_config"}


@pytest.fixture
def docker_sdk(monkeypatch):
    """DockerEngine over a recording docker.APIClient; yields (engine, calls, the fake client)."""
    calls: list = []
    api = Fake(
        calls,
        create_host_config=HOST_CONFIG,
        create_endpoint_config=ENDPOINT_CONFIG,
        create_networking_config=NETWORKING_CONFIG,
        create_container={"Id": "f00d", "Warnings": []},
    )

    def client(**kwargs):
        calls.append(("APIClient", (), kwargs))
        return api

    monkeypatch.setattr(docker, "APIClient", client)
    engine = DockerEngine("unix:///var/run/docker.sock", "1.41")
    yield engine, calls, api


def container_fake(calls: list, attrs: dict, **answers) -> Fake:
    container = Fake(calls, "container.", **answers)
    container.id, container.attrs = attrs["Id"], attrs
    return container


@pytest.fixture
def podman_sdk(monkeypatch):
    """PodmanEngine over a recording podman.PodmanClient; yields (engine, calls, the fake client)."""
    calls: list = []
    created = container_fake(calls, {"Id": "f00d"})
    client = Fake(calls)
    client.containers = Fake(calls, "containers.", create=created, get=created)
    client.api = Fake(calls, "api.", put=SimpleNamespace(ok=True, status_code=200, text=""))
    client.networks, client.volumes = Fake(calls, "networks."), Fake(calls, "volumes.")

    def make(**kwargs):
        calls.append(("PodmanClient", (), kwargs))
        return client

    monkeypatch.setattr(podman, "PodmanClient", make)
    engine = PodmanEngine("unix:///run/podman/podman.sock")
    yield engine, calls, client


def test_docker_client_is_made_for_the_url_with_the_pinged_api_version(docker_sdk):
    _engine, calls, _api = docker_sdk
    assert calls == [
        (
            "APIClient",
            (),
            {
                "base_url": "unix:///var/run/docker.sock",
                "version": "1.41",
                "timeout": 60,
                "use_ssh_client": False,
                "tls": False,
            },
        )
    ]


def test_docker_create_request_for_prometheus(docker_sdk):
    engine, calls, _api = docker_sdk
    calls.clear()
    assert engine.create_container(PROMETHEUS) == "f00d"
    assert calls == [
        (
            "create_host_config",
            (),
            {
                "port_bindings": {"9090/tcp": ("127.0.0.2", 19090)},
                "binds": {"llama-telemetry-demo-prometheus-data": {"bind": "/prometheus", "mode": "rw"}},
                "network_mode": "llama-telemetry-demo",
                "security_opt": ["no-new-privileges"],
                "cap_drop": ["ALL"],
                "extra_hosts": {"host.containers.internal": "host-gateway"},
                "restart_policy": {"Name": "unless-stopped"},
            },
        ),
        ("create_endpoint_config", (), {"aliases": ["prometheus"]}),
        ("create_networking_config", ({"llama-telemetry-demo": ENDPOINT_CONFIG},), {}),
        (
            "create_container",
            ("docker.io/prom/prometheus:v3.16.0",),
            {
                "name": "demo-prometheus",
                "command": PROMETHEUS_COMMAND,
                "user": "65534",
                "environment": {},
                "labels": PROMETHEUS_LABELS,
                "ports": [(9090, "tcp")],
                "volumes": ["/prometheus"],
                "host_config": HOST_CONFIG,
                "networking_config": NETWORKING_CONFIG,
            },
        ),
    ]
    # Docker publishes a binding only for a port the container exposes: every bound port is in the request.
    bound = set(calls[0][2]["port_bindings"])
    assert bound <= {f"{port}/{protocol}" for port, protocol in calls[3][2]["ports"]}


def test_docker_create_request_for_grafana(docker_sdk):
    engine, calls, _api = docker_sdk
    calls.clear()
    engine.create_container(GRAFANA)
    host_config, endpoint, networking, create = calls
    assert host_config == (
        "create_host_config",
        (),
        {
            "port_bindings": {"3000/tcp": ("127.0.0.2", 13000)},
            "binds": {"llama-telemetry-demo-grafana-data": {"bind": "/var/lib/grafana", "mode": "rw"}},
            "network_mode": "llama-telemetry-demo",
            "security_opt": ["no-new-privileges"],
            "cap_drop": ["ALL"],
            "extra_hosts": None,  # Grafana does not reach the host
            "restart_policy": {"Name": "unless-stopped"},
        },
    )
    assert endpoint == ("create_endpoint_config", (), {"aliases": ["grafana"]})
    assert networking == ("create_networking_config", ({"llama-telemetry-demo": ENDPOINT_CONFIG},), {})
    assert create == (
        "create_container",
        ("docker.io/grafana/grafana:12.4.14",),
        {
            "name": "demo-grafana",
            "command": None,  # the image's own CMD
            "user": "472",
            "environment": GRAFANA_ENVIRONMENT,
            "labels": GRAFANA_LABELS,
            "ports": [(3000, "tcp")],
            "volumes": ["/var/lib/grafana"],
            "host_config": HOST_CONFIG,
            "networking_config": NETWORKING_CONFIG,
        },
    )


@pytest.mark.parametrize(
    ("ogx_metrics", "extra_hosts"),
    [
        ("9464", {"host.containers.internal": "host-gateway"}),  # OGX on the engine's host
        ("ogx.example.com:9464", None),  # OGX elsewhere: nothing to map
        (None, None),
    ],
)
def test_docker_maps_the_host_alias_only_when_prometheus_reaches_the_host(docker_sdk, ogx_metrics, extra_hosts):
    engine, calls, _api = docker_sdk
    spec = build_stack(build_settings(ogx_metrics=ogx_metrics)).service("prometheus").container
    calls.clear()
    engine.create_container(spec)
    assert calls[0][0] == "create_host_config" and calls[0][2]["extra_hosts"] == extra_hosts


def test_docker_without_restart_sets_no_policy(docker_sdk):
    engine, calls, _api = docker_sdk
    calls.clear()
    engine.create_container(dataclasses.replace(GRAFANA, restart=False))
    assert calls[0][0] == "create_host_config" and calls[0][2]["restart_policy"] is None


def test_docker_container_lifecycle_calls(docker_sdk):
    engine, calls, api = docker_sdk
    calls.clear()
    engine.put_archive("f00d", "/", b"tar bytes")
    engine.start("f00d")
    engine.stop("f00d", 10)
    engine.remove_container("f00d")
    assert calls == [
        ("put_archive", ("f00d", "/", b"tar bytes"), {}),
        ("start", ("f00d",), {}),
        ("stop", ("f00d",), {"timeout": 10}),
        # v: the anonymous volumes of the image's VOLUMEs (Jaeger's /tmp) go with it.
        ("remove_container", ("f00d",), {"force": True, "v": True}),
    ]
    api._answers["remove_container"] = docker.errors.NotFound("No such container: f00d")
    engine.remove_container("f00d")  # already gone: nothing to do


def test_docker_lists_by_label_and_checks_the_labels_itself(docker_sdk):
    engine, calls, api = docker_sdk
    documents = {
        "a83df05e": recorded("docker-container-running"),
        "90668528": recorded("docker-container-created-no-ports"),  # the engine's filter is not trusted
    }
    api._answers["containers"] = [{"Id": "a83df05e"}, {"Id": "90668528"}, {"Id": "gone"}]

    def inspect(key):
        if key not in documents:
            raise docker.errors.NotFound(f"No such container: {key}")
        return documents[key]

    api._answers["inspect_container"] = inspect
    calls.clear()
    assert [c.name for c in engine.containers(OURS)] == ["insprec-prometheus"]
    assert calls == [
        (
            "containers",
            (),
            {
                "all": True,
                "filters": {"label": ["io.llama-telemetry.managed=true", "io.llama-telemetry.project=insprec"]},
            },
        ),
        ("inspect_container", ("a83df05e",), {}),
        ("inspect_container", ("90668528",), {}),
        ("inspect_container", ("gone",), {}),
    ]


def test_docker_networks_and_volumes(docker_sdk):
    engine, calls, _api = docker_sdk
    calls.clear()
    engine.create_network("llama-telemetry-demo", PROMETHEUS_LABELS)
    engine.create_volume("llama-telemetry-demo-grafana-data", GRAFANA_LABELS)
    engine.remove_network("llama-telemetry-demo")
    engine.remove_volume("llama-telemetry-demo-grafana-data")
    assert calls == [
        (
            "create_network",
            ("llama-telemetry-demo",),
            {"driver": "bridge", "labels": PROMETHEUS_LABELS, "check_duplicate": True},
        ),
        ("create_volume", ("llama-telemetry-demo-grafana-data",), {"labels": GRAFANA_LABELS}),
        ("remove_network", ("llama-telemetry-demo",), {}),
        ("remove_volume", ("llama-telemetry-demo-grafana-data",), {}),
    ]


def test_podman_client_is_made_for_the_url(podman_sdk):
    _engine, calls, _client = podman_sdk
    assert calls == [("PodmanClient", (), {"base_url": "unix:///run/podman/podman.sock", "timeout": 60})]


def test_podman_create_request_for_prometheus(podman_sdk):
    engine, calls, _client = podman_sdk
    calls.clear()
    assert engine.create_container(PROMETHEUS) == "f00d"
    assert calls == [
        (
            "containers.create",
            ("docker.io/prom/prometheus:v3.16.0",),
            {
                "name": "demo-prometheus",
                "command": PROMETHEUS_COMMAND,
                "user": "65534",
                "environment": {},
                "labels": PROMETHEUS_LABELS,
                "ports": {"9090/tcp": ("127.0.0.2", 19090)},
                "exposed_ports": ["9090/tcp"],
                "volumes": {"llama-telemetry-demo-prometheus-data": {"bind": "/prometheus", "mode": "rw"}},
                "networks": {"llama-telemetry-demo": {"aliases": ["prometheus"]}},
                "no_new_privileges": True,
                "cap_drop": ["ALL"],
                # No extra_hosts: Podman gives every container host.containers.internal itself.
                "restart_policy": {"Name": "always"},  # podman-restart.service starts "always" ones at boot
            },
        )
    ]
    create = calls[0][2]
    assert set(create["ports"]) <= set(create["exposed_ports"])


def test_podman_create_request_for_grafana(podman_sdk):
    engine, calls, _client = podman_sdk
    calls.clear()
    engine.create_container(GRAFANA)
    assert calls == [
        (
            "containers.create",
            ("docker.io/grafana/grafana:12.4.14",),
            {
                "name": "demo-grafana",
                "command": None,
                "user": "472",
                "environment": GRAFANA_ENVIRONMENT,
                "labels": GRAFANA_LABELS,
                "ports": {"3000/tcp": ("127.0.0.2", 13000)},
                "exposed_ports": ["3000/tcp"],
                "volumes": {"llama-telemetry-demo-grafana-data": {"bind": "/var/lib/grafana", "mode": "rw"}},
                "networks": {"llama-telemetry-demo": {"aliases": ["grafana"]}},
                "no_new_privileges": True,
                "cap_drop": ["ALL"],
                "restart_policy": {"Name": "always"},
            },
        )
    ]


def test_podman_without_restart_says_no(podman_sdk):
    engine, calls, _client = podman_sdk
    calls.clear()
    engine.create_container(dataclasses.replace(GRAFANA, restart=False))
    assert calls[0][2]["restart_policy"] == {"Name": "no"}


def test_podman_container_lifecycle_calls(podman_sdk):
    engine, calls, client = podman_sdk
    calls.clear()
    engine.put_archive("f00d", "/", b"tar bytes")
    engine.start("f00d")
    engine.stop("f00d", 10)
    engine.remove_container("f00d")
    assert calls == [
        # Straight to libpod: copyUIDGID=false keeps the copied configs root-owned.
        (
            "api.put",
            ("/containers/f00d/archive",),
            {"params": {"path": "/", "copyUIDGID": "false"}, "data": b"tar bytes"},
        ),
        ("containers.get", ("f00d",), {}),
        ("container.start", (), {}),
        ("containers.get", ("f00d",), {}),
        ("container.stop", (), {"timeout": 10, "ignore": True}),
        ("containers.get", ("f00d",), {}),
        # v: podman-py sends it as libpod's v and volumes, which remove the anonymous volumes too.
        ("container.remove", (), {"force": True, "v": True}),
    ]
    client.containers._answers["get"] = podman.errors.NotFound("no container with name or ID f00d found")
    engine.remove_container("f00d")  # already gone: nothing to do


def test_podman_put_archive_tries_twice_then_says_what_failed(podman_sdk):
    engine, calls, client = podman_sdk
    client.api._answers["put"] = SimpleNamespace(ok=False, status_code=500, text="copy failed: no space\n")
    calls.clear()
    with pytest.raises(TelemetryError) as raised:
        engine.put_archive("f00d1234567890abcdef", "/", b"tar bytes")
    assert [name for name, _args, _kwargs in calls] == ["api.put", "api.put"]
    assert raised.value.message == (
        "Podman could not copy the configuration into container f00d12345678: HTTP 500 copy failed: no space"
    )


def test_podman_lists_by_label_and_checks_the_labels_itself(podman_sdk):
    engine, calls, client = podman_sdk
    documents = {
        "b506ca2a": recorded("podman-container-running"),
        "32e19715": recorded("podman-container-created-no-ports"),  # the engine's filter is not trusted
    }
    listed = [container_fake(calls, {"Id": key}) for key in ("b506ca2a", "32e19715", "gone")]
    client.containers._answers["list"] = listed

    def get(key):
        if key not in documents:
            raise podman.errors.NotFound(f"no container with name or ID {key} found")
        return container_fake(calls, documents[key])

    client.containers._answers["get"] = get
    calls.clear()
    assert [c.name for c in engine.containers(OURS)] == ["insprec-prometheus"]
    assert calls == [
        (
            "containers.list",
            (),
            {
                "all": True,
                "filters": ["label=io.llama-telemetry.managed=true", "label=io.llama-telemetry.project=insprec"],
            },
        ),
        ("containers.get", ("b506ca2a",), {}),
        ("containers.get", ("32e19715",), {}),
        ("containers.get", ("gone",), {}),
    ]


def test_podman_networks_and_volumes(podman_sdk):
    engine, calls, _client = podman_sdk
    calls.clear()
    engine.create_network("llama-telemetry-demo", PROMETHEUS_LABELS)
    engine.create_volume("llama-telemetry-demo-grafana-data", GRAFANA_LABELS)
    engine.remove_network("llama-telemetry-demo")
    engine.remove_volume("llama-telemetry-demo-grafana-data")
    assert calls == [
        (
            "networks.create",
            ("llama-telemetry-demo",),
            {"driver": "bridge", "dns_enabled": True, "labels": PROMETHEUS_LABELS},  # DNS: services find each other
        ),
        ("volumes.create", ("llama-telemetry-demo-grafana-data",), {"labels": GRAFANA_LABELS}),
        ("networks.remove", ("llama-telemetry-demo",), {}),
        ("volumes.remove", ("llama-telemetry-demo-grafana-data",), {}),
    ]


# ------------------------------------------------------------------------------------------------------ the wire


class RecordingAdapter(requests.adapters.BaseAdapter):
    """Takes the place of the SDK's socket adapter: notes each request (method, path without the SDK's /vX.Y API
    version, query, JSON or raw body) and answers from `answers`, (method, last path segment) -> (status, JSON)."""

    def __init__(self, answers: dict):
        super().__init__()
        self.answers, self.sent = answers, []

    def send(self, request, **kwargs):
        url = urlsplit(request.url)
        body = request.body
        if body is not None and request.headers.get("Content-Type") == "application/json":
            body = json.loads(body)
        path = re.sub(r"^/v[0-9.]+/", "/", url.path)
        self.sent.append((request.method, path, dict(parse_qsl(url.query)), body))
        status, payload = self.answers.get((request.method, url.path.rsplit("/", 1)[-1]), (200, {}))
        response = requests.Response()
        response.status_code, response.request, response.url, response.encoding = status, request, request.url, "utf-8"
        response._content = b"" if payload is None else json.dumps(payload).encode()
        response.headers["Content-Type"] = "application/json"
        return response

    def close(self):
        pass


def test_docker_requests_on_the_wire():
    engine = DockerEngine("unix:///nonexistent/docker.sock", "1.41")  # a given API version: no /version round trip
    wire = RecordingAdapter({("POST", "create"): (201, {"Id": "f00d", "Warnings": []}), ("POST", "stop"): (204, None)})
    engine._api.mount("http+docker://", wire)
    assert engine.create_container(PROMETHEUS) == "f00d"
    engine.put_archive("f00d", "/", b"tar bytes")
    engine.stop("f00d", 10)
    engine.remove_container("f00d")
    create, archive, stop, remove = wire.sent
    assert create == (
        "POST",
        "/containers/create",
        {"name": "demo-prometheus"},
        {
            "ExposedPorts": {"9090/tcp": {}},
            "User": "65534",
            "Tty": False,
            "OpenStdin": False,
            "StdinOnce": False,
            "AttachStdin": False,
            "AttachStdout": True,
            "AttachStderr": True,
            "Cmd": PROMETHEUS_COMMAND,
            "Image": "docker.io/prom/prometheus:v3.16.0",
            "Volumes": {"/prometheus": {}},
            "NetworkDisabled": False,
            "HostConfig": {
                "NetworkMode": "llama-telemetry-demo",
                "RestartPolicy": {"Name": "unless-stopped"},
                "CapDrop": ["ALL"],
                "SecurityOpt": ["no-new-privileges"],
                "Binds": ["llama-telemetry-demo-prometheus-data:/prometheus:rw"],
                "PortBindings": {"9090/tcp": [{"HostIp": "127.0.0.2", "HostPort": "19090"}]},
                "ExtraHosts": ["host.containers.internal:host-gateway"],
            },
            "NetworkingConfig": {"EndpointsConfig": {"llama-telemetry-demo": {"Aliases": ["prometheus"]}}},
            "Labels": PROMETHEUS_LABELS,
        },
    )
    body = create[3]
    assert set(body["HostConfig"]["PortBindings"]) <= set(body["ExposedPorts"])
    assert archive == ("PUT", "/containers/f00d/archive", {"path": "/"}, b"tar bytes")
    assert stop == ("POST", "/containers/f00d/stop", {"t": "10"}, None)
    assert remove == ("DELETE", "/containers/f00d", {"v": "True", "link": "False", "force": "True"}, None)


def test_podman_requests_on_the_wire():
    engine = PodmanEngine("unix:///nonexistent/podman.sock")
    document = recorded("podman-container-running")  # what libpod answers for a container
    wire = RecordingAdapter(
        {
            ("POST", "create"): (201, {"Id": document["Id"], "Warnings": []}),
            ("GET", "json"): (200, document),
            ("POST", "stop"): (204, None),
        }
    )
    engine._client.api.mount("http://", wire)
    assert engine.create_container(PROMETHEUS) == "b506ca2ae30492f62318d52ffb8de52eb2c96ebf5556628a76990a91989a8248"
    engine.put_archive("f00d", "/", b"tar bytes")
    engine.stop("f00d", 10)
    engine.remove_container("f00d")
    container = "/libpod/containers/b506ca2ae30492f62318d52ffb8de52eb2c96ebf5556628a76990a91989a8248"
    assert wire.sent == [
        (
            "POST",
            "/libpod/containers/create",
            {},
            {
                "cap_drop": ["ALL"],
                "command": PROMETHEUS_COMMAND,
                "expose": {"9090": "tcp"},
                "image": "docker.io/prom/prometheus:v3.16.0",
                "labels": PROMETHEUS_LABELS,
                "name": "demo-prometheus",
                "networks": {"llama-telemetry-demo": {"aliases": ["prometheus"]}},
                "no_new_privileges": True,
                "portmappings": [
                    {"container_port": 9090, "host_ip": "127.0.0.2", "host_port": 19090, "protocol": "tcp"}
                ],
                "restart_policy": "always",
                "user": "65534",
                "volumes": [{"Dest": "/prometheus", "Name": "llama-telemetry-demo-prometheus-data", "Options": ["rw"]}],
            },
        ),
        ("GET", f"{container}/json", {}, None),  # podman-py reads the created container back
        ("PUT", "/libpod/containers/f00d/archive", {"path": "/", "copyUIDGID": "false"}, b"tar bytes"),
        ("GET", "/libpod/containers/f00d/json", {}, None),
        ("POST", f"{container}/stop", {"timeout": "10"}, None),
        ("GET", "/libpod/containers/f00d/json", {}, None),
        ("DELETE", container, {"v": "True", "force": "True", "volumes": "True"}, None),
    ]
