"""The desired stack, derived purely from Settings: names, labels, containers, files, health probes.

Like docker-compose's Project/Service model: nothing here talks to an engine, so it is unit-testable,
and `config_hash` lets `up` tell which containers are already what the user asked for.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import tarfile
import time
from dataclasses import dataclass, field
from typing import Mapping

from telemetry_stack.engines.base import ContainerSpec, PortBinding
from telemetry_stack.health import basic_auth
from telemetry_stack.render import DATASOURCE_UIDS, container_path, render_files
from telemetry_stack.settings import DEFAULT_PROJECT, PUBLISHED_PORTS, SERVICES, Settings

LABEL_PREFIX = "io.llama-telemetry"
MANAGED_LABEL = f"{LABEL_PREFIX}.managed"
PROJECT_LABEL = f"{LABEL_PREFIX}.project"
SERVICE_LABEL = f"{LABEL_PREFIX}.service"
HASH_LABEL = f"{LABEL_PREFIX}.config-hash"
NETWORK_NAME = "llama-telemetry"

# Image users: the real images' own non-root users (the config files are made readable for them).
SERVICE_USERS = {"jaeger": "10001", "otel-collector": "10001", "prometheus": "65534", "grafana": "472"}
SERVICE_COMMANDS: Mapping[str, tuple[str, ...]] = {
    "jaeger": (
        # Jaeger's built-in all-in-one config listens on localhost unless the image sets JAEGER_LISTEN_HOST;
        # OTLP must be reachable from the collector whatever image the user picks.
        "--set=receivers.otlp.protocols.grpc.endpoint=0.0.0.0:4317",
        "--set=receivers.otlp.protocols.http.endpoint=0.0.0.0:4318",
        # Jaeger v2 traces its own query service (every health probe becomes a "jaeger" trace) and, when
        # stopped, waits 10 s to flush those spans to its own receiver, already closed: `down` took 10 s.
        "--set=extensions.jaeger_query.enable_tracing=false",
    ),
    "otel-collector": ("--config=/etc/otelcol-contrib/config.yaml",),
    "prometheus": ("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"),
    "grafana": (),
}
DATA_VOLUMES = {"prometheus": "/prometheus", "grafana": "/var/lib/grafana"}


@dataclass(frozen=True)
class HealthProbe:
    port_key: str
    path: str  # liveness: what `status` asks




# The collector's trace exporter dials Jaeger's OTLP port as it starts: started together, it often finds
# nothing listening yet and logs a failed connection.
STARTS_AFTER: Mapping[str, tuple[str, ...]] = {"otel-collector": ("jaeger",)}

HEALTH_PROBES = {
    "jaeger": HealthProbe("jaeger", "/api/services"),
    "otel-collector": HealthProbe("collector-health", "/"),
    "prometheus": HealthProbe("prometheus", "/-/ready"),
    "grafana": HealthProbe("grafana", "/api/health"),
}


GRAFANA_ADMIN_USER = "admin"

# Environment values that are secrets: exported manifests must not carry anything derived from them.
SECRET_ENVIRONMENT = frozenset({"GF_SECURITY_ADMIN_PASSWORD"})


@dataclass(frozen=True)
class Service:
    name: str
    container: ContainerSpec
    files: Mapping[str, bytes]  # absolute path inside the container -> content
    health: HealthProbe
    public_hash: str = ""  # the config hash without secret values, for manifests others may read
    # Readiness, what `up` waits for once `health` answers: Grafana answers /api/health before it has
    # provisioned its datasources and dashboards, so those must answer too (behind the admin login).
    ready_paths: tuple[str, ...] = ()
    ready_auth: tuple[str, str] | None = field(default=None, repr=False)
    starts_after: tuple[str, ...] = ()  # services that must be ready before this one starts

    def readiness_urls(self, base: str) -> list[str]:
        """What `up` polls, in order, at base (the service's probed port as a URL)."""
        return [base + self.health.path, *(base + path for path in self.ready_paths)]

    @property
    def readiness_headers(self) -> dict[str, str]:
        return basic_auth(*self.ready_auth) if self.ready_auth else {}

    @property
    def config_hash(self) -> str:
        return self.container.labels[HASH_LABEL]

    def archive(self) -> bytes:
        """The rendered files as a tar to extract at / (root-owned, world-readable, not writable)."""
        buffer = io.BytesIO()
        now = int(time.time())  # Grafana notices changed dashboards by mtime as well as content
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for path, content in sorted(self.files.items()):
                info = tarfile.TarInfo(path.lstrip("/"))
                info.size, info.mode, info.uid, info.gid, info.mtime = len(content), 0o644, 0, 0, now
                tar.addfile(info, io.BytesIO(content))
        return buffer.getvalue()


@dataclass(frozen=True)
class Stack:
    project: str
    network: str
    services: tuple[Service, ...]
    volumes: tuple[str, ...]

    @property
    def labels(self) -> dict[str, str]:
        return project_labels(self.project)

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)


def project_labels(project: str) -> dict[str, str]:
    """The labels that mark a resource as ours; `down` and replacements select on these alone."""
    return {MANAGED_LABEL: "true", PROJECT_LABEL: project}


def resource_names(project: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(network, {service: container name}, {service: volume name}) for a project.

    The default project keeps the documented names (containers named like the services)."""
    if project == DEFAULT_PROJECT:
        prefix, network = "", NETWORK_NAME
    else:
        prefix, network = f"{project}-", f"{NETWORK_NAME}-{project}"
    containers = {svc: f"{prefix}{svc}" for svc in SERVICES}
    volumes = {svc: f"{network}-{svc}-data" for svc in DATA_VOLUMES}
    return network, containers, volumes


def _config_hash(spec_fields: dict, files: Mapping[str, bytes]) -> str:
    # Port bindings hash as (container port, host ip, host port) lists.
    digest = hashlib.sha256(json.dumps(spec_fields, sort_keys=True, default=dataclasses.astuple).encode())
    for path, content in sorted(files.items()):
        digest.update(path.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()[:16]


def _grafana_readiness(files: Mapping[str, bytes], password: str) -> dict:
    """Grafana is ready when every provisioned datasource and dashboard answers through its API."""
    dashboards = [json.loads(content)["uid"] for path, content in sorted(files.items()) if path.endswith(".json")]
    paths = [f"/api/datasources/uid/{uid}" for uid in DATASOURCE_UIDS.values()]
    paths += [f"/api/dashboards/uid/{uid}" for uid in dashboards]
    return {"ready_paths": tuple(paths), "ready_auth": (GRAFANA_ADMIN_USER, password)}


def build_stack(settings: Settings) -> Stack:
    network, container_names, volume_names = resource_names(settings.project)
    rendered = render_files(redact_content=settings.redact_content, ogx_metrics=settings.ogx_metrics)
    files_by_service: dict[str, dict[str, bytes]] = {svc: {} for svc in SERVICES}
    for relative, content in rendered.items():
        service, path = container_path(relative)
        files_by_service[service][path] = content

    environment = {
        "grafana": {
            "GF_SECURITY_ADMIN_USER": GRAFANA_ADMIN_USER,
            "GF_SECURITY_ADMIN_PASSWORD": settings.grafana_password,
            "GF_USERS_ALLOW_SIGN_UP": "false",
            "GF_ANALYTICS_REPORTING_ENABLED": "false",
            "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
            # Grafana 12 otherwise downloads its preinstalled plugins at every start (errors when offline).
            "GF_PLUGINS_PREINSTALL_DISABLED": "true",
        }
    }
    services = []
    for svc in SERVICES:
        ports = tuple(
            PortBinding(p.container_port, settings.bind, settings.ports[p.key]) for p in PUBLISHED_PORTS if p.service == svc
        )
        volumes = {volume_names[svc]: DATA_VOLUMES[svc]} if svc in DATA_VOLUMES else {}
        fields = {
            "image": settings.images[svc],
            "user": SERVICE_USERS[svc],
            "command": SERVICE_COMMANDS[svc],
            "environment": environment.get(svc, {}),
            "ports": ports,
            "volumes": volumes,
            "network": network,
            # Prometheus scrapes OGX on the engine's host.
            "reach_host": svc == "prometheus" and settings.ogx_metrics_on_host,
            # Back after a crash, an engine restart or a reboot; `down` removes it for good.
            "restart": True,
        }
        public_fields = {**fields, "environment": {k: v for k, v in fields["environment"].items() if k not in SECRET_ENVIRONMENT}}
        labels = {**project_labels(settings.project), SERVICE_LABEL: svc, HASH_LABEL: _config_hash(fields, files_by_service[svc])}
        spec = ContainerSpec(name=container_names[svc], labels=labels, aliases=(svc,), **fields)
        services.append(
            Service(
                svc, spec, files_by_service[svc], HEALTH_PROBES[svc], _config_hash(public_fields, files_by_service[svc]),
                starts_after=STARTS_AFTER.get(svc, ()),
                **(_grafana_readiness(files_by_service[svc], settings.grafana_password) if svc == "grafana" else {}),
            )
        )
    return Stack(settings.project, network, tuple(services), tuple(volume_names.values()))
