"""What the user asked for: option values validated into one immutable Settings object.

Everything here is pure; a bad value raises UsageError with a message that says how to fix it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from telemetry_stack.errors import UsageError

SERVICES = ("jaeger", "otel-collector", "prometheus", "grafana")

# The one place where image versions are pinned. Never ":latest": an upgrade is a deliberate change here.
# Jaeger stays on a 2.x release that serves the /api/services and /api/traces query API that Grafana's
# Jaeger datasource (and our health probe) use; Grafana 12.x still bundles that datasource.
DEFAULT_IMAGES: Mapping[str, str] = {
    "jaeger": "docker.io/jaegertracing/jaeger:2.20.0",
    "otel-collector": "docker.io/otel/opentelemetry-collector-contrib:0.162.0",
    "prometheus": "docker.io/prom/prometheus:v3.15.0",
    "grafana": "docker.io/grafana/grafana:12.4.4",
}


@dataclass(frozen=True)
class PublishedPort:
    """A container port published on the host; `key` is what `--port KEY=N` names."""

    key: str
    service: str
    container_port: int
    title: str


PUBLISHED_PORTS = (
    PublishedPort("jaeger", "jaeger", 16686, "Jaeger UI"),
    PublishedPort("otlp-grpc", "otel-collector", 4317, "OTLP gRPC"),
    PublishedPort("otlp-http", "otel-collector", 4318, "OTLP HTTP"),
    PublishedPort("collector-health", "otel-collector", 13133, "Collector health"),
    PublishedPort("prometheus", "prometheus", 9090, "Prometheus"),
    PublishedPort("grafana", "grafana", 3000, "Grafana"),
)
PORT_KEYS = tuple(p.key for p in PUBLISHED_PORTS)
DEFAULT_PORTS: Mapping[str, int] = {p.key: p.container_port for p in PUBLISHED_PORTS}

ENGINES = ("docker", "podman")
PULL_POLICIES = ("missing", "always", "never")
DEFAULT_PROJECT = "default"
DEFAULT_PASSWORD = "admin"
_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class Settings:
    engine: str | None = None  # None: auto-detect
    project: str = DEFAULT_PROJECT
    images: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_IMAGES))
    ports: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    bind: str = "127.0.0.1"
    pull: str = "missing"
    timeout: float = 120.0
    grafana_password: str = field(default=DEFAULT_PASSWORD, repr=False)

    @property
    def binds_beyond_loopback(self) -> bool:
        return not ipaddress.ip_address(self.bind).is_loopback


def parse_assignments(values: Iterable[str], allowed: Iterable[str], option: str) -> dict[str, str]:
    """Parse repeated `KEY=VALUE` option values (also accepts several separated by commas)."""
    allowed = tuple(allowed)
    parsed: dict[str, str] = {}
    for raw in values:
        for item in filter(None, (part.strip() for part in raw.split(","))):
            key, sep, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or not key or not value:
                raise UsageError(f"{option} expects KEY=VALUE, got {item!r}.", f"KEY is one of: {', '.join(allowed)}.")
            if key not in allowed:
                raise UsageError(f"{option}: unknown name {key!r}.", f"Use one of: {', '.join(allowed)}.")
            parsed[key] = value
    return parsed


def _port_number(key: str, value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise UsageError(f"--port {key}={value}: a port is a whole number from 1 to 65535.")
    return int(value)


def _image_ref(service: str, ref: str) -> str:
    if any(ch.isspace() for ch in ref) or ref.startswith(("-", ":", "@")):
        raise UsageError(f"--image {service}={ref!r} is not an image reference.", "Use e.g. grafana=grafana/grafana:12.4.4.")
    return ref


def build_settings(
    *,
    engine: str | None = None,
    project: str | None = None,
    images: Iterable[str] = (),
    ports: Iterable[str] = (),
    bind: str | None = None,
    pull: str | None = None,
    timeout: float | None = None,
    grafana_password: str | None = None,
) -> Settings:
    """Validate raw option values (flags or environment) into Settings."""
    defaults = Settings()
    engine = engine or None
    if engine is not None and engine not in ENGINES:
        raise UsageError(f"--container {engine!r} is not supported.", f"Use one of: {', '.join(ENGINES)}.")

    project = project or DEFAULT_PROJECT
    if not _PROJECT_NAME.match(project):
        raise UsageError(
            f"--project {project!r} is not a valid name.",
            "Use lowercase letters, digits, '-' or '_' (at most 40, starting with a letter or digit).",
        )

    image_map = dict(defaults.images)
    image_map.update({svc: _image_ref(svc, ref) for svc, ref in parse_assignments(images, SERVICES, "--image").items()})

    port_map = dict(defaults.ports)
    port_map.update({key: _port_number(key, v) for key, v in parse_assignments(ports, PORT_KEYS, "--port").items()})
    seen: dict[int, str] = {}
    for key, number in port_map.items():
        if number in seen:
            raise UsageError(f"--port: {seen[number]} and {key} both use host port {number}.", "Give each a different port.")
        seen[number] = key

    bind = bind or defaults.bind
    try:
        ipaddress.ip_address(bind)
    except ValueError:
        raise UsageError(f"--bind {bind!r} is not an IP address.", "Use e.g. 127.0.0.1 (default) or 0.0.0.0.") from None

    pull = pull or defaults.pull
    if pull not in PULL_POLICIES:
        raise UsageError(f"--pull {pull!r} is not a pull policy.", f"Use one of: {', '.join(PULL_POLICIES)}.")

    timeout = defaults.timeout if timeout is None else timeout
    if not timeout > 0:
        raise UsageError(f"--timeout {timeout:g} must be a positive number of seconds.")

    password = grafana_password if grafana_password is not None else DEFAULT_PASSWORD
    if not password:
        raise UsageError("--grafana-password must not be empty.")

    settings = Settings(
        engine=engine,
        project=project,
        images=image_map,
        ports=port_map,
        bind=bind,
        pull=pull,
        timeout=float(timeout),
        grafana_password=password,
    )
    if settings.binds_beyond_loopback and password == DEFAULT_PASSWORD:
        raise UsageError(
            f"--bind {bind} would expose Grafana beyond this machine with the default password 'admin'.",
            "Set --grafana-password (or LLAMA_TELEMETRY_GRAFANA_PASSWORD), or keep the default bind 127.0.0.1.",
        )
    return settings
