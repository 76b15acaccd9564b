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
from dataclasses import dataclass
from typing import Mapping

from telemetry_stack.engines.base import ContainerSpec, PortBinding
from telemetry_stack.render import container_path, render_files
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
    # Jaeger's built-in all-in-one config listens on localhost; OTLP must be reachable from the collector.
    "jaeger": (
        "--set=receivers.otlp.protocols.grpc.endpoint=0.0.0.0:4317",
        "--set=receivers.otlp.protocols.http.endpoint=0.0.0.0:4318",
    ),
    "otel-collector": ("--config=/etc/otelcol-contrib/config.yaml",),
    "prometheus": ("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"),
    "grafana": (),
}
DATA_VOLUMES = {"prometheus": "/prometheus", "grafana": "/var/lib/grafana"}


@dataclass(frozen=True)
class HealthProbe:
    port_key: str
    path: str


HEALTH_PROBES = {
    "jaeger": HealthProbe("jaeger", "/api/services"),
    "otel-collector": HealthProbe("collector-health", "/"),
    "prometheus": HealthProbe("prometheus", "/-/ready"),
    "grafana": HealthProbe("grafana", "/api/health"),
}


# Environment values that are secrets: exported manifests must not carry anything derived from them.
SECRET_ENVIRONMENT = frozenset({"GF_SECURITY_ADMIN_PASSWORD"})


@dataclass(frozen=True)
class Service:
    name: str
    container: ContainerSpec
    files: Mapping[str, bytes]  # absolute path inside the container -> content
    health: HealthProbe
    public_hash: str = ""  # the config hash without secret values, for manifests others may read

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


def build_stack(settings: Settings) -> Stack:
    network, container_names, volume_names = resource_names(settings.project)
    rendered = render_files(redact_content=settings.redact_content)
    files_by_service: dict[str, dict[str, bytes]] = {svc: {} for svc in SERVICES}
    for relative, content in rendered.items():
        service, path = container_path(relative)
        files_by_service[service][path] = content

    environment = {
        "grafana": {
            "GF_SECURITY_ADMIN_USER": "admin",
            "GF_SECURITY_ADMIN_PASSWORD": settings.grafana_password,
            "GF_USERS_ALLOW_SIGN_UP": "false",
            "GF_ANALYTICS_REPORTING_ENABLED": "false",
            "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
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
        }
        public_fields = {**fields, "environment": {k: v for k, v in fields["environment"].items() if k not in SECRET_ENVIRONMENT}}
        labels = {**project_labels(settings.project), SERVICE_LABEL: svc, HASH_LABEL: _config_hash(fields, files_by_service[svc])}
        spec = ContainerSpec(name=container_names[svc], labels=labels, aliases=(svc,), **fields)
        services.append(Service(svc, spec, files_by_service[svc], HEALTH_PROBES[svc], _config_hash(public_fields, files_by_service[svc])))
    return Stack(settings.project, network, tuple(services), tuple(volume_names.values()))
