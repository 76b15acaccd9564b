"""The stack's services, each described once: image, user, command, ports, probes, data, files, environment.

Like `catalog.py` for metrics, this is the one home of every per-service fact. Settings take their default
images and published ports from here, `stack` builds containers from it, `render` finds templates and config
directories here, `export` writes compose and Kubernetes from it, `doctor` checks its ports and images.
Adding a service is one `ServiceDefinition` below plus its templates.

Each image record is the pinned release and what the real image declares (its upstream Dockerfile at that
release). USER, ENTRYPOINT, CMD, ENV, EXPOSE, VOLUME and WORKDIR all change how a container behaves: Docker
publishes a port binding only for a port the container exposes, a declared VOLUME becomes an anonymous volume
on every create, and so on. The engine tests build their images from these records and prove each built image
carries exactly them. Never ":latest": an upgrade is a deliberate change here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

# Docker's default PATH (the base images' value where a Dockerfile extends $PATH).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
GRAFANA_ADMIN_USER = "admin"
OTLP_GRPC, OTLP_HTTP = 4317, 4318  # OTLP's registered ports, on Jaeger and on the collector


@dataclass(frozen=True)
class ImageRecord:
    repository: str
    tag: str
    source: str  # the upstream file the metadata below was read from, and at which release
    user: str
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    expose: tuple[int, ...] = ()  # TCP ports, as the Dockerfile's EXPOSE lists them
    volumes: tuple[str, ...] = ()
    workdir: str = ""

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True)
class Port:
    """A port the container listens on. Published ones get a host port (`--port KEY=N`); the others are
    for the stack's own services only (Kubernetes Services still name them)."""

    key: str
    number: int
    title: str = ""  # what the user sees next to a published port's URL
    published: bool = True
    kubernetes_name: str = ""  # when `key` is longer than Kubernetes' 15-character limit for port names

    @property
    def template_name(self) -> str:
        return self.key.replace("-", "_")


@dataclass(frozen=True)
class Probe:
    port_key: str  # one of the service's published ports
    path: str  # liveness: what `status` asks


@dataclass(frozen=True)
class SecretSetting:
    """An environment value taken from a secret setting: never in public labels or manifests' plain env."""

    setting: str  # the Settings attribute
    kubernetes_key: str  # its key in the service's Kubernetes Secret


@dataclass(frozen=True)
class ServiceDefinition:
    name: str  # the service, its container name in the default project, its host name on the network
    image: ImageRecord
    user: str  # numeric uid of the image's own non-root user (the config files are made readable for it)
    command: tuple[str, ...]  # replaces the image's CMD
    ports: tuple[Port, ...]
    health: Probe
    component: str  # app.kubernetes.io/component
    ui_port: str = ""  # the published port of its web UI, for `llama-telemetry open`
    # A Settings flag that adds this service to the stack ("" : always there). An optional service's image
    # and ports are settings like any other's, used only when the flag is on.
    enabled_by: str = ""
    data_volume: str = ""  # where the service keeps data that survives `down` (a named volume)
    storage_request: str = ""  # that volume's size on Kubernetes
    config_root: str = ""  # the image's config directory, where its rendered files land
    templates: Mapping[str, str] = field(default_factory=dict)  # path below config_root -> template in templates/
    environment: Mapping[str, str | SecretSetting] = field(default_factory=dict)
    # Plain variables that still go into the Kubernetes Secret (beside the secret ones): variable -> key.
    kubernetes_secret_keys: Mapping[str, str] = field(default_factory=dict)
    # Paths the image writes outside its data volume: emptyDirs keep Kubernetes root filesystems read-only.
    scratch_dirs: tuple[str, ...] = ("/tmp",)
    starts_after: tuple[str, ...] = ()  # services that must be ready before this one starts
    # Readiness beyond the health probe: more paths on the probed port, derived from the rendered files, and
    # the login they need (user, Settings attribute holding the password).
    ready_paths: Callable[[Mapping[str, bytes]], tuple[str, ...]] | None = None
    ready_login: tuple[str, str] | None = None
    scrapes_ogx: bool = False  # reaches OGX's metrics endpoint on the engine's host (--ogx-metrics PORT)

    @property
    def secret_environment(self) -> dict[str, SecretSetting]:
        return {name: value for name, value in self.environment.items() if isinstance(value, SecretSetting)}

    @property
    def published_ports(self) -> tuple[Port, ...]:
        return tuple(p for p in self.ports if p.published)

    def port(self, key: str) -> Port:
        return next(p for p in self.ports if p.key == key)


def _grafana_provisioned(files: Mapping[str, bytes]) -> tuple[str, ...]:
    """Grafana answers /api/health before it has provisioned its datasources and dashboards: it is ready
    when each one it was given answers through its API."""
    import yaml

    paths = []
    for path, content in sorted(files.items()):
        if "/provisioning/datasources/" in path:
            paths += [f"/api/datasources/uid/{source['uid']}" for source in yaml.safe_load(content)["datasources"]]
    for path, content in sorted(files.items()):
        if path.endswith(".json"):
            paths.append(f"/api/dashboards/uid/{json.loads(content)['uid']}")
    return tuple(paths)


# Paths a service's command names as well as its entry below.
_COLLECTOR_CONFIG = "/etc/otelcol-contrib/"
_PROMETHEUS_CONFIG, _PROMETHEUS_DATA = "/etc/prometheus/", "/prometheus"
_LOKI_CONFIG = "/etc/loki/"

DEFINITIONS: tuple[ServiceDefinition, ...] = (
    ServiceDefinition(
        name="jaeger",
        # Jaeger v2's Go module has no /v2 path, so only releases with a v1 twin tag resolve as Go modules;
        # 2.13.0 (= v1.76.0) is the newest, and the version the engine tests build and run.
        image=ImageRecord(
            repository="docker.io/jaegertracing/jaeger",
            tag="2.13.0",
            source="jaegertracing/jaeger cmd/jaeger/Dockerfile @ v2.13.0 (release stage, alpine base)",
            user="10001",
            entrypoint=("/cmd/jaeger/jaeger-linux",),
            env={"JAEGER_LISTEN_HOST": "0.0.0.0"},
            expose=(5778, 5779, 4317, 4318, 14268, 14250, 9411, 16686, 13132, 13133),
            volumes=("/tmp",),
        ),
        user="10001",
        command=(
            # Jaeger's built-in all-in-one config listens on localhost unless the image sets JAEGER_LISTEN_HOST;
            # OTLP must be reachable from the collector whatever image the user picks.
            f"--set=receivers.otlp.protocols.grpc.endpoint=0.0.0.0:{OTLP_GRPC}",
            f"--set=receivers.otlp.protocols.http.endpoint=0.0.0.0:{OTLP_HTTP}",
            # Jaeger v2 traces its own query service (every health probe becomes a "jaeger" trace) and, when
            # stopped, waits 10 s to flush those spans to its own receiver, already closed: `down` took 10 s.
            "--set=extensions.jaeger_query.enable_tracing=false",
        ),
        ports=(
            Port("jaeger", 16686, "Jaeger UI"),
            Port("otlp-grpc", OTLP_GRPC, published=False),  # the collector's trace exporter sends here
            Port("otlp-http", OTLP_HTTP, published=False),
        ),
        health=Probe("jaeger", "/api/services"),
        ui_port="jaeger",
        component="tracing",
    ),
    ServiceDefinition(
        name="otel-collector",
        # The newest collector release whose contrib transform processor resolves as a Go module here.
        image=ImageRecord(
            repository="docker.io/otel/opentelemetry-collector-contrib",
            tag="0.161.0",
            source="open-telemetry/opentelemetry-collector-releases distributions/otelcol-contrib/Dockerfile "
            "@ v0.159.0 (FROM scratch; unchanged since v0.132.0 but for the certificate stage's base)",
            user="10001:10001",
            entrypoint=("/otelcol-contrib",),
            cmd=("--config", "/etc/otelcol-contrib/config.yaml"),
            expose=(4317, 4318, 55679),
        ),
        user="10001",
        command=(f"--config={_COLLECTOR_CONFIG}config.yaml",),
        ports=(
            Port("otlp-grpc", OTLP_GRPC, "OTLP gRPC"),
            Port("otlp-http", OTLP_HTTP, "OTLP HTTP"),
            Port("collector-health", 13133, "Collector health", kubernetes_name="health"),
            Port("metrics", 8889, published=False),  # the Prometheus exporter, scraped by Prometheus
        ),
        health=Probe("collector-health", "/"),
        component="collector",
        config_root=_COLLECTOR_CONFIG,
        templates={"config.yaml": "otel-collector.yaml.j2"},
        # Its trace exporter dials Jaeger's OTLP port as it starts: started together, it often finds nothing
        # listening yet and logs a failed connection.
        starts_after=("jaeger",),
    ),
    ServiceDefinition(
        name="prometheus",
        image=ImageRecord(
            repository="docker.io/prom/prometheus",
            tag="v3.16.0",
            source="prometheus/prometheus Dockerfile @ v3.14.0 (busybox base)",
            user="nobody",
            entrypoint=("/bin/prometheus",),
            cmd=("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"),
            expose=(9090,),
            volumes=("/prometheus",),
            workdir="/prometheus",
        ),
        user="65534",
        command=(f"--config.file={_PROMETHEUS_CONFIG}prometheus.yml", f"--storage.tsdb.path={_PROMETHEUS_DATA}"),
        ports=(Port("prometheus", 9090, "Prometheus"),),
        health=Probe("prometheus", "/-/ready"),
        ui_port="prometheus",
        component="metrics",
        data_volume=_PROMETHEUS_DATA,
        storage_request="10Gi",
        config_root=_PROMETHEUS_CONFIG,
        templates={"prometheus.yml": "prometheus.yml.j2"},
        scrapes_ogx=True,
    ),
    ServiceDefinition(
        name="grafana",
        # Grafana is AGPL and cannot be built here: the tests run a stand-in carrying this metadata.
        image=ImageRecord(
            repository="docker.io/grafana/grafana",
            tag="12.4.14",
            source="grafana/grafana Dockerfile (final stage, alpine base; read at the newest stored revision)",
            user="472",
            entrypoint=("/run.sh",),
            env={
                "PATH": f"/usr/share/grafana/bin:{DEFAULT_PATH}",
                "GF_PATHS_CONFIG": "/etc/grafana/grafana.ini",
                "GF_PATHS_DATA": "/var/lib/grafana",
                "GF_PATHS_HOME": "/usr/share/grafana",
                "GF_PATHS_LOGS": "/var/log/grafana",
                "GF_PATHS_PLUGINS": "/var/lib/grafana/plugins",
                "GF_PATHS_PROVISIONING": "/etc/grafana/provisioning",
            },
            expose=(3000,),
            workdir="/usr/share/grafana",
        ),
        user="472",
        command=(),
        ports=(Port("grafana", 3000, "Grafana"),),
        health=Probe("grafana", "/api/health"),
        ui_port="grafana",
        component="dashboards",
        data_volume="/var/lib/grafana",
        storage_request="1Gi",
        config_root="/etc/grafana/",
        templates={
            "provisioning/datasources/llama-telemetry.yaml": "grafana-datasources.yaml.j2",
            "provisioning/dashboards/llama-telemetry.yaml": "grafana-dashboards.yaml.j2",
        },
        environment={
            "GF_SECURITY_ADMIN_USER": GRAFANA_ADMIN_USER,
            "GF_SECURITY_ADMIN_PASSWORD": SecretSetting("grafana_password", "admin-password"),
            "GF_USERS_ALLOW_SIGN_UP": "false",
            "GF_ANALYTICS_REPORTING_ENABLED": "false",
            "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
            # Grafana 12 otherwise downloads its preinstalled plugins at every start (errors when offline).
            "GF_PLUGINS_PREINSTALL_DISABLED": "true",
        },
        kubernetes_secret_keys={"GF_SECURITY_ADMIN_USER": "admin-user"},
        # Grafana stages plugin downloads in /tmp and logs to files under /var/log/grafana.
        scratch_dirs=("/tmp", "/var/log/grafana"),
        ready_paths=_grafana_provisioned,
        ready_login=(GRAFANA_ADMIN_USER, "grafana_password"),
    ),
    ServiceDefinition(
        name="loki",
        # Loki is AGPL and cannot be built here: the tests run a stand-in carrying this metadata.
        image=ImageRecord(
            repository="docker.io/grafana/loki",
            tag="3.7.6",
            source="grafana/loki cmd/loki/Dockerfile @ v3.7.6 (final stage)",
            user="10001",
            entrypoint=("/usr/bin/loki",),
            cmd=("-config.file=/etc/loki/local-config.yaml",),
            expose=(3100,),
            workdir="/",
        ),
        user="10001",
        command=(f"-config.file={_LOKI_CONFIG}config.yaml",),
        ports=(Port("loki", 3100, "Loki"),),
        # Loki answers /ready with 503 until its ingester has joined its ring (about 15 s after start).
        health=Probe("loki", "/ready"),
        component="logs",
        data_volume="/loki",
        storage_request="10Gi",
        config_root=_LOKI_CONFIG,
        templates={"config.yaml": "loki.yaml.j2"},
        enabled_by="logs",
    ),
)

SERVICES: tuple[str, ...] = tuple(d.name for d in DEFINITIONS)
IMAGES: Mapping[str, ImageRecord] = {d.name: d.image for d in DEFINITIONS}


WITH_UI: tuple[str, ...] = tuple(d.name for d in DEFINITIONS if d.ui_port)


def definition(name: str) -> ServiceDefinition:
    return next(d for d in DEFINITIONS if d.name == name)


@dataclass(frozen=True)
class PublishedPort:
    """A container port published on the host; `key` is what `--port KEY=N` names."""

    key: str
    service: str
    container_port: int
    title: str


PUBLISHED_PORTS: tuple[PublishedPort, ...] = tuple(
    PublishedPort(p.key, d.name, p.number, p.title) for d in DEFINITIONS for p in d.published_ports
)
