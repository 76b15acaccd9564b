"""Every container of the stack, pinned field by field as literals, and what each engine is asked to create.

Nothing here is derived from the service registry or from Settings' defaults: a changed image, user, command,
environment value, port, volume, label, restart policy or probe fails a test, and so does a container the
engines are asked to create without the security defaults (no capabilities, no-new-privileges).
"""

from __future__ import annotations

import http.server
import json
import re
import socketserver
import threading

import pytest

from telemetry_stack.settings import build_settings
from telemetry_stack.stack import Service, build_stack

DASHBOARD_PATHS = (
    "/api/dashboards/uid/llama-stack-inference",
    "/api/dashboards/uid/llama-stack-overview",
    "/api/dashboards/uid/llama-stack-requests",
    "/api/dashboards/uid/llama-stack-responses",
    "/api/dashboards/uid/llama-stack-tool-runtime",
    "/api/dashboards/uid/llama-stack-vector-io",
)

GRAFANA_ENVIRONMENT = {
    "GF_SECURITY_ADMIN_USER": "admin",
    "GF_SECURITY_ADMIN_PASSWORD": "admin",
    "GF_USERS_ALLOW_SIGN_UP": "false",  # nobody signs up on a stack whose only user is the admin
    "GF_ANALYTICS_REPORTING_ENABLED": "false",
    "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
    "GF_PLUGINS_PREINSTALL_DISABLED": "true",  # no plugin downloads at every start (offline errors)
}

# The default stack: `llama-telemetry up` with no options. Ports are (container port, host ip, host port);
# readiness is what `up` polls at the probed port's host URL, and the login it sends.
DEFAULT = {
    "jaeger": {
        "name": "jaeger",
        "image": "docker.io/jaegertracing/jaeger:2.13.0",
        "user": "10001",
        "command": (
            "--set=receivers.otlp.protocols.grpc.endpoint=0.0.0.0:4317",
            "--set=receivers.otlp.protocols.http.endpoint=0.0.0.0:4318",
            "--set=extensions.jaeger_query.enable_tracing=false",
        ),
        "environment": {},
        "ports": ((16686, "127.0.0.1", 16686),),
        "volumes": {},
        "network": "llama-telemetry",
        "aliases": ("jaeger",),
        "labels": {
            "io.llama-telemetry.managed": "true",
            "io.llama-telemetry.project": "default",
            "io.llama-telemetry.service": "jaeger",
        },
        "restart": True,
        "reach_host": False,
        "health": ("jaeger", "/api/services"),
        "readiness": ["http://127.0.0.1:16686/api/services"],
        "auth": {},
        "starts_after": (),
    },
    "otel-collector": {
        "name": "otel-collector",
        "image": "docker.io/otel/opentelemetry-collector-contrib:0.161.0",
        "user": "10001",
        "command": ("--config=/etc/otelcol-contrib/config.yaml",),
        "environment": {},
        "ports": ((4317, "127.0.0.1", 4317), (4318, "127.0.0.1", 4318), (13133, "127.0.0.1", 13133)),
        "volumes": {},
        "network": "llama-telemetry",
        "aliases": ("otel-collector",),
        "labels": {
            "io.llama-telemetry.managed": "true",
            "io.llama-telemetry.project": "default",
            "io.llama-telemetry.service": "otel-collector",
        },
        "restart": True,
        "reach_host": False,
        "health": ("collector-health", "/"),
        "readiness": ["http://127.0.0.1:13133/"],
        "auth": {},
        "starts_after": ("jaeger",),  # its trace exporter dials Jaeger as it starts
    },
    "prometheus": {
        "name": "prometheus",
        "image": "docker.io/prom/prometheus:v3.16.0",
        "user": "65534",
        "command": ("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"),
        "environment": {},
        "ports": ((9090, "127.0.0.1", 9090),),
        "volumes": {"llama-telemetry-prometheus-data": "/prometheus"},
        "network": "llama-telemetry",
        "aliases": ("prometheus",),
        "labels": {
            "io.llama-telemetry.managed": "true",
            "io.llama-telemetry.project": "default",
            "io.llama-telemetry.service": "prometheus",
        },
        "restart": True,
        "reach_host": False,
        "health": ("prometheus", "/-/ready"),
        "readiness": ["http://127.0.0.1:9090/-/ready"],
        "auth": {},
        "starts_after": (),
    },
    "grafana": {
        "name": "grafana",
        "image": "docker.io/grafana/grafana:12.4.14",
        "user": "472",
        "command": (),
        "environment": GRAFANA_ENVIRONMENT,
        "ports": ((3000, "127.0.0.1", 3000),),
        "volumes": {"llama-telemetry-grafana-data": "/var/lib/grafana"},
        "network": "llama-telemetry",
        "aliases": ("grafana",),
        "labels": {
            "io.llama-telemetry.managed": "true",
            "io.llama-telemetry.project": "default",
            "io.llama-telemetry.service": "grafana",
        },
        "restart": True,
        "reach_host": False,
        "health": ("grafana", "/api/health"),
        "readiness": [
            "http://127.0.0.1:3000/api/health",
            "http://127.0.0.1:3000/api/datasources/uid/llama-telemetry-prometheus",
            "http://127.0.0.1:3000/api/datasources/uid/llama-telemetry-jaeger",
            *(f"http://127.0.0.1:3000{path}" for path in DASHBOARD_PATHS),
        ],
        "auth": {"Authorization": "Basic YWRtaW46YWRtaW4="},  # admin:admin
        "starts_after": (),
    },
}

# A second project on other ports, published on every interface with its own password, its own Grafana image,
# scraping OGX on the engine's host.
VARIANT_SETTINGS = {
    "project": "team-b",
    "ports": [
        "jaeger=26686,otlp-grpc=24317",
        "otlp-http=24318",
        "collector-health=23133,prometheus=29090,grafana=23000",
    ],
    "bind": "0.0.0.0",
    "grafana_password": "Variant-pw-42",
    "images": ["grafana=registry.example.com/grafana/grafana:12.4.14-custom"],
    "ogx_metrics": "9464",
}


def variant_expectation() -> dict:
    def labels(service: str) -> dict:
        return {
            "io.llama-telemetry.managed": "true",
            "io.llama-telemetry.project": "team-b",
            "io.llama-telemetry.service": service,
        }

    return {
        "jaeger": {
            **DEFAULT["jaeger"],
            "name": "team-b-jaeger",
            "ports": ((16686, "0.0.0.0", 26686),),
            "network": "llama-telemetry-team-b",
            "labels": labels("jaeger"),
            "readiness": ["http://127.0.0.1:26686/api/services"],
        },
        "otel-collector": {
            **DEFAULT["otel-collector"],
            "name": "team-b-otel-collector",
            "ports": ((4317, "0.0.0.0", 24317), (4318, "0.0.0.0", 24318), (13133, "0.0.0.0", 23133)),
            "network": "llama-telemetry-team-b",
            "labels": labels("otel-collector"),
            "readiness": ["http://127.0.0.1:23133/"],
        },
        "prometheus": {
            **DEFAULT["prometheus"],
            "name": "team-b-prometheus",
            "ports": ((9090, "0.0.0.0", 29090),),
            "volumes": {"llama-telemetry-team-b-prometheus-data": "/prometheus"},
            "network": "llama-telemetry-team-b",
            "labels": labels("prometheus"),
            "reach_host": True,  # scrapes host.containers.internal:9464
            "readiness": ["http://127.0.0.1:29090/-/ready"],
        },
        "grafana": {
            **DEFAULT["grafana"],
            "name": "team-b-grafana",
            "image": "registry.example.com/grafana/grafana:12.4.14-custom",
            "environment": {**GRAFANA_ENVIRONMENT, "GF_SECURITY_ADMIN_PASSWORD": "Variant-pw-42"},
            "ports": ((3000, "0.0.0.0", 23000),),
            "volumes": {"llama-telemetry-team-b-grafana-data": "/var/lib/grafana"},
            "network": "llama-telemetry-team-b",
            "labels": labels("grafana"),
            "readiness": [
                "http://127.0.0.1:23000/api/health",
                "http://127.0.0.1:23000/api/datasources/uid/llama-telemetry-prometheus",
                "http://127.0.0.1:23000/api/datasources/uid/llama-telemetry-jaeger",
                *(f"http://127.0.0.1:23000{path}" for path in DASHBOARD_PATHS),
            ],
            "auth": {"Authorization": "Basic YWRtaW46VmFyaWFudC1wdy00Mg=="},  # admin:Variant-pw-42
        },
    }


def observed(service: Service) -> dict:
    """What the stack holds for one service, as plain values (the config-hash label aside: see below)."""
    spec = service.container
    probed = {
        "jaeger": 16686,
        "otel-collector": 13133,
        "prometheus": 9090,
        "grafana": 3000,
    }[service.name]  # the container port each health probe is on
    host_port = next(p.host_port for p in spec.ports if p.container_port == probed)
    return {
        "name": spec.name,
        "image": spec.image,
        "user": spec.user,
        "command": tuple(spec.command),
        "environment": dict(spec.environment),
        "ports": tuple((p.container_port, p.host_ip, p.host_port) for p in spec.ports),
        "volumes": dict(spec.volumes),
        "network": spec.network,
        "aliases": tuple(spec.aliases),
        "labels": {k: v for k, v in spec.labels.items() if k != "io.llama-telemetry.config-hash"},
        "restart": spec.restart,
        "reach_host": spec.reach_host,
        "health": (service.health.port_key, service.health.path),
        "readiness": service.readiness_urls(f"http://127.0.0.1:{host_port}"),
        "auth": service.readiness_headers,
        "starts_after": tuple(service.starts_after),
    }


def test_the_default_stack_is_four_containers_on_one_network_with_two_data_volumes():
    stack = build_stack(build_settings())
    assert [s.name for s in stack.services] == ["jaeger", "otel-collector", "prometheus", "grafana"]
    assert stack.project == "default"
    assert stack.network == "llama-telemetry"
    assert stack.volumes == ("llama-telemetry-prometheus-data", "llama-telemetry-grafana-data")
    assert stack.labels == {"io.llama-telemetry.managed": "true", "io.llama-telemetry.project": "default"}


@pytest.mark.parametrize("name", list(DEFAULT))
def test_each_default_container_is_exactly_this(name):
    assert observed(build_stack(build_settings()).service(name)) == DEFAULT[name]


def test_a_second_project_on_other_ports_bind_and_password():
    stack = build_stack(build_settings(**VARIANT_SETTINGS))
    assert stack.network == "llama-telemetry-team-b"
    assert stack.volumes == ("llama-telemetry-team-b-prometheus-data", "llama-telemetry-team-b-grafana-data")
    assert stack.labels == {"io.llama-telemetry.managed": "true", "io.llama-telemetry.project": "team-b"}
    assert {s.name: observed(s) for s in stack.services} == variant_expectation()


@pytest.mark.parametrize(
    ("ogx_metrics", "reaching"),
    [(None, set()), ("9464", {"prometheus"}), ("host.containers.internal:9100", {"prometheus"}), ("ogx:9464", set())],
)
def test_only_prometheus_reaches_the_engines_host_and_only_for_ogx_on_it(ogx_metrics, reaching):
    stack = build_stack(build_settings(ogx_metrics=ogx_metrics))
    assert {s.name for s in stack.services if s.container.reach_host} == reaching


def test_the_config_hash_label_is_a_short_digest_that_changes_with_the_container():
    first, again = build_stack(build_settings()), build_stack(build_settings())
    hashes = {s.name: s.container.labels["io.llama-telemetry.config-hash"] for s in first.services}
    assert all(re.fullmatch(r"[0-9a-f]{16}", value) for value in hashes.values()), hashes
    assert len(set(hashes.values())) == 4
    assert hashes == {s.name: s.container.labels["io.llama-telemetry.config-hash"] for s in again.services}
    # A new password recreates Grafana alone; the hash manifests carry (public_hash) never depends on it.
    other = build_stack(build_settings(grafana_password="another-one"))
    changed = {s.name for s in other.services if s.container.labels["io.llama-telemetry.config-hash"] != hashes[s.name]}
    assert changed == {"grafana"}
    assert [s.public_hash for s in other.services] == [s.public_hash for s in first.services]


# ------------------------------------------------------------------- what the engines are asked to create


class _Daemon(http.server.BaseHTTPRequestHandler):
    """Answers an engine's create call like Docker or Podman would, and records what it was asked."""

    protocol_version = "HTTP/1.1"
    requests: list[tuple[str, dict | None]]

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.requests.append((self.path, json.loads(body) if body else None))
        self._reply(201, {"Id": "0123456789ab", "Warnings": []})

    def do_GET(self):  # podman-py reads the created container back
        self.requests.append((self.path, None))
        self._reply(200, {"Id": "0123456789ab"})

    def log_message(self, *args):
        pass


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        request, _ = super().get_request()
        return request, ("local", 0)


@pytest.fixture
def daemon(tmp_path):
    handler = type("Handler", (_Daemon,), {"requests": []})
    server = _UnixServer(str(tmp_path / "engine.sock"), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield f"unix://{tmp_path / 'engine.sock'}", handler.requests
    server.shutdown()
    server.server_close()


# The variant stack's containers as Docker's create API receives them.
DOCKER_CREATE = {
    "team-b-jaeger": {
        "Image": "docker.io/jaegertracing/jaeger:2.13.0",
        "User": "10001",
        "Cmd": [
            "--set=receivers.otlp.protocols.grpc.endpoint=0.0.0.0:4317",
            "--set=receivers.otlp.protocols.http.endpoint=0.0.0.0:4318",
            "--set=extensions.jaeger_query.enable_tracing=false",
        ],
        "Env": None,  # no environment of its own
        "ExposedPorts": {"16686/tcp": {}},
        "Volumes": {},
        "HostConfig": {
            "NetworkMode": "llama-telemetry-team-b",
            "RestartPolicy": {"Name": "unless-stopped"},
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges"],
            "Binds": [],
            "PortBindings": {"16686/tcp": [{"HostIp": "0.0.0.0", "HostPort": "26686"}]},
        },
        "NetworkingConfig": {"EndpointsConfig": {"llama-telemetry-team-b": {"Aliases": ["jaeger"]}}},
    },
    "team-b-otel-collector": {
        "Image": "docker.io/otel/opentelemetry-collector-contrib:0.161.0",
        "User": "10001",
        "Cmd": ["--config=/etc/otelcol-contrib/config.yaml"],
        "Env": None,  # no environment of its own
        "ExposedPorts": {"4317/tcp": {}, "4318/tcp": {}, "13133/tcp": {}},
        "Volumes": {},
        "HostConfig": {
            "NetworkMode": "llama-telemetry-team-b",
            "RestartPolicy": {"Name": "unless-stopped"},
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges"],
            "Binds": [],
            "PortBindings": {
                "4317/tcp": [{"HostIp": "0.0.0.0", "HostPort": "24317"}],
                "4318/tcp": [{"HostIp": "0.0.0.0", "HostPort": "24318"}],
                "13133/tcp": [{"HostIp": "0.0.0.0", "HostPort": "23133"}],
            },
        },
        "NetworkingConfig": {"EndpointsConfig": {"llama-telemetry-team-b": {"Aliases": ["otel-collector"]}}},
    },
    "team-b-prometheus": {
        "Image": "docker.io/prom/prometheus:v3.16.0",
        "User": "65534",
        "Cmd": ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"],
        "Env": None,  # no environment of its own
        "ExposedPorts": {"9090/tcp": {}},
        "Volumes": {"/prometheus": {}},
        "HostConfig": {
            "NetworkMode": "llama-telemetry-team-b",
            "RestartPolicy": {"Name": "unless-stopped"},
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges"],
            "Binds": ["llama-telemetry-team-b-prometheus-data:/prometheus:rw"],
            "PortBindings": {"9090/tcp": [{"HostIp": "0.0.0.0", "HostPort": "29090"}]},
            "ExtraHosts": ["host.containers.internal:host-gateway"],  # --ogx-metrics 9464 on Docker
        },
        "NetworkingConfig": {"EndpointsConfig": {"llama-telemetry-team-b": {"Aliases": ["prometheus"]}}},
    },
    "team-b-grafana": {
        "Image": "registry.example.com/grafana/grafana:12.4.14-custom",
        "User": "472",
        "Cmd": None,  # the image's own CMD
        "Env": [
            "GF_SECURITY_ADMIN_USER=admin",
            "GF_SECURITY_ADMIN_PASSWORD=Variant-pw-42",
            "GF_USERS_ALLOW_SIGN_UP=false",
            "GF_ANALYTICS_REPORTING_ENABLED=false",
            "GF_ANALYTICS_CHECK_FOR_UPDATES=false",
            "GF_PLUGINS_PREINSTALL_DISABLED=true",
        ],
        "ExposedPorts": {"3000/tcp": {}},
        "Volumes": {"/var/lib/grafana": {}},
        "HostConfig": {
            "NetworkMode": "llama-telemetry-team-b",
            "RestartPolicy": {"Name": "unless-stopped"},
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges"],
            "Binds": ["llama-telemetry-team-b-grafana-data:/var/lib/grafana:rw"],
            "PortBindings": {"3000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "23000"}]},
        },
        "NetworkingConfig": {"EndpointsConfig": {"llama-telemetry-team-b": {"Aliases": ["grafana"]}}},
    },
}


def test_docker_is_asked_for_exactly_these_containers(daemon):
    from telemetry_stack.engines.docker_engine import DockerEngine

    url, requests = daemon
    engine = DockerEngine(url, api_version="1.41")
    stack = build_stack(build_settings(**VARIANT_SETTINGS))
    for service in stack.services:
        assert engine.create_container(service.container) == "0123456789ab"
    engine.close()
    asked = {}
    for path, body in requests:
        name = re.fullmatch(r"/v1\.41/containers/create\?name=([\w-]+)", path).group(1)
        labels = body["Labels"]
        assert re.fullmatch(r"[0-9a-f]{16}", labels.pop("io.llama-telemetry.config-hash"))
        assert labels == {
            "io.llama-telemetry.managed": "true",
            "io.llama-telemetry.project": "team-b",
            "io.llama-telemetry.service": name.removeprefix("team-b-"),
        }
        asked[name] = {key: body.get(key) for key in DOCKER_CREATE["team-b-jaeger"]}
    assert asked == DOCKER_CREATE


def test_podman_is_asked_for_the_same_containers(daemon):
    from telemetry_stack.engines.podman_engine import PodmanEngine

    url, requests = daemon
    engine = PodmanEngine(url)
    stack = build_stack(build_settings(**VARIANT_SETTINGS))
    for service in stack.services:
        engine.create_container(service.container)
    created = [body for path, body in requests if path.endswith("/libpod/containers/create")]
    asked = {
        body["name"]: {
            "image": body["image"],
            "user": body["user"],
            "command": body.get("command"),
            "env": body.get("env", {}),
            "portmappings": body["portmappings"],
            "volumes": body.get("volumes", []),
            "networks": body["networks"],
            "cap_drop": body.get("cap_drop"),
            "no_new_privileges": body.get("no_new_privileges"),
            "restart_policy": body.get("restart_policy"),
        }
        for body in created
    }

    def mapping(container_port: int, host_port: int) -> dict:
        return {"container_port": container_port, "host_ip": "0.0.0.0", "host_port": host_port, "protocol": "tcp"}

    secure = {"cap_drop": ["ALL"], "no_new_privileges": True, "restart_policy": "always"}
    network = "llama-telemetry-team-b"
    assert asked == {
        "team-b-jaeger": {
            "image": "docker.io/jaegertracing/jaeger:2.13.0",
            "user": "10001",
            "command": DOCKER_CREATE["team-b-jaeger"]["Cmd"],
            "env": {},
            "portmappings": [mapping(16686, 26686)],
            "volumes": [],
            "networks": {network: {"aliases": ["jaeger"]}},
            **secure,
        },
        "team-b-otel-collector": {
            "image": "docker.io/otel/opentelemetry-collector-contrib:0.161.0",
            "user": "10001",
            "command": ["--config=/etc/otelcol-contrib/config.yaml"],
            "env": {},
            "portmappings": [mapping(4317, 24317), mapping(4318, 24318), mapping(13133, 23133)],
            "volumes": [],
            "networks": {network: {"aliases": ["otel-collector"]}},
            **secure,
        },
        "team-b-prometheus": {
            "image": "docker.io/prom/prometheus:v3.16.0",
            "user": "65534",
            "command": ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"],
            "env": {},
            "portmappings": [mapping(9090, 29090)],
            "volumes": [{"Dest": "/prometheus", "Name": "llama-telemetry-team-b-prometheus-data", "Options": ["rw"]}],
            "networks": {network: {"aliases": ["prometheus"]}},
            **secure,
        },
        "team-b-grafana": {
            "image": "registry.example.com/grafana/grafana:12.4.14-custom",
            "user": "472",
            "command": None,
            "env": {**GRAFANA_ENVIRONMENT, "GF_SECURITY_ADMIN_PASSWORD": "Variant-pw-42"},
            "portmappings": [mapping(3000, 23000)],
            "volumes": [{"Dest": "/var/lib/grafana", "Name": "llama-telemetry-team-b-grafana-data", "Options": ["rw"]}],
            "networks": {network: {"aliases": ["grafana"]}},
            **secure,
        },
    }
