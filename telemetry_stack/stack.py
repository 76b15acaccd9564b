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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from telemetry_stack.engines.base import ContainerSpec, PortBinding
from telemetry_stack.health import basic_auth
from telemetry_stack.render import container_path, render_files
from telemetry_stack.services import DEFINITIONS, SERVICES, Probe, SecretSetting, ServiceDefinition
from telemetry_stack.settings import DEFAULT_PROJECT, Settings

LABEL_PREFIX = "io.llama-telemetry"
MANAGED_LABEL = f"{LABEL_PREFIX}.managed"
PROJECT_LABEL = f"{LABEL_PREFIX}.project"
SERVICE_LABEL = f"{LABEL_PREFIX}.service"
HASH_LABEL = f"{LABEL_PREFIX}.config-hash"
NETWORK_NAME = "llama-telemetry"

# Environment values that are secrets: exported manifests must not carry anything derived from them.
SECRET_ENVIRONMENT = frozenset(name for d in DEFINITIONS for name in d.secret_environment)


@dataclass(frozen=True)
class Service:
    name: str
    container: ContainerSpec
    files: Mapping[str, bytes]  # absolute path inside the container -> content
    health: Probe
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
    volumes = {d.name: f"{network}-{d.name}-data" for d in DEFINITIONS if d.data_volume}
    return network, containers, volumes


def _config_hash(spec_fields: dict, files: Mapping[str, bytes]) -> str:
    # Port bindings hash as (container port, host ip, host port) lists.
    digest = hashlib.sha256(json.dumps(spec_fields, sort_keys=True, default=dataclasses.astuple).encode())
    for path, content in sorted(files.items()):
        digest.update(path.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()[:16]


def enabled(settings: Settings) -> tuple[ServiceDefinition, ...]:
    """The services this stack has: every one, but an optional one only when its flag is set."""
    return tuple(d for d in DEFINITIONS if not d.enabled_by or getattr(settings, d.enabled_by))


def build_stack(settings: Settings) -> Stack:
    network, container_names, all_volume_names = resource_names(settings.project)
    definitions = enabled(settings)
    volume_names = {d.name: all_volume_names[d.name] for d in definitions if d.name in all_volume_names}
    rendered = render_files(settings.redact_content, settings.ogx_metrics, settings.logs)
    files_by_service: dict[str, dict[str, bytes]] = {svc: {} for svc in SERVICES}
    for relative, content in rendered.items():
        service, path = container_path(relative)
        files_by_service[service][path] = content

    services = []
    for definition in definitions:
        svc = definition.name
        files = files_by_service[svc]
        ports = tuple(PortBinding(p.number, settings.bind, settings.ports[p.key]) for p in definition.published_ports)
        volumes = {volume_names[svc]: definition.data_volume} if definition.data_volume else {}
        fields: dict[str, Any] = {
            "image": settings.images[svc],
            "user": definition.user,
            "command": definition.command,
            "environment": {
                name: getattr(settings, value.setting) if isinstance(value, SecretSetting) else value
                for name, value in definition.environment.items()
            },
            "ports": ports,
            "volumes": volumes,
            "network": network,
            # Prometheus scrapes OGX on the engine's host.
            "reach_host": definition.scrapes_ogx and settings.ogx_metrics_on_host,
            # Back after a crash, an engine restart or a reboot; `down` removes it for good.
            "restart": True,
        }
        public_fields = {
            **fields,
            "environment": {k: v for k, v in fields["environment"].items() if k not in SECRET_ENVIRONMENT},
        }
        labels = {**project_labels(settings.project), SERVICE_LABEL: svc, HASH_LABEL: _config_hash(fields, files)}
        spec = ContainerSpec(name=container_names[svc], labels=labels, aliases=(svc,), **fields)
        readiness: dict[str, Any] = {}
        if definition.ready_paths:
            readiness["ready_paths"] = definition.ready_paths(files)
        if definition.ready_login:
            user, password_setting = definition.ready_login
            readiness["ready_auth"] = (user, getattr(settings, password_setting))
        services.append(
            Service(
                svc,
                spec,
                files,
                definition.health,
                _config_hash(public_fields, files),
                starts_after=definition.starts_after,
                **readiness,
            )
        )
    return Stack(settings.project, network, tuple(services), tuple(volume_names.values()))
