"""The pinned images, and what each real image declares (its upstream Dockerfile, at that release).

One home for both facts: `settings` takes its default image references from here, and the engine
tests build every test image from these records (and prove each built image carries exactly them).
USER, ENTRYPOINT, CMD, ENV, EXPOSE, VOLUME and WORKDIR all change how a container behaves: Docker
publishes a port binding only for a port the container exposes, a declared VOLUME becomes an
anonymous volume on every create, and so on. Never ":latest": an upgrade is a deliberate change here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

# Docker's default PATH (the base images' value where a Dockerfile extends $PATH).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class ImageRecord:
    service: str
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


IMAGES: Mapping[str, ImageRecord] = {
    record.service: record
    for record in (
        # Jaeger v2's Go module has no /v2 path, so only releases with a v1 twin tag resolve as Go modules;
        # 2.13.0 (= v1.76.0) is the newest, and the version the engine tests build and run.
        ImageRecord(
            service="jaeger",
            repository="docker.io/jaegertracing/jaeger",
            tag="2.13.0",
            source="jaegertracing/jaeger cmd/jaeger/Dockerfile @ v2.13.0 (release stage, alpine base)",
            user="10001",
            entrypoint=("/cmd/jaeger/jaeger-linux",),
            env={"JAEGER_LISTEN_HOST": "0.0.0.0"},
            expose=(5778, 5779, 4317, 4318, 14268, 14250, 9411, 16686, 13132, 13133),
            volumes=("/tmp",),
        ),
        # The newest collector release whose contrib transform processor resolves as a Go module here.
        ImageRecord(
            service="otel-collector",
            repository="docker.io/otel/opentelemetry-collector-contrib",
            tag="0.161.0",
            source="open-telemetry/opentelemetry-collector-releases distributions/otelcol-contrib/Dockerfile "
            "@ v0.159.0 (FROM scratch; unchanged since v0.132.0 but for the certificate stage's base)",
            user="10001:10001",
            entrypoint=("/otelcol-contrib",),
            cmd=("--config", "/etc/otelcol-contrib/config.yaml"),
            expose=(4317, 4318, 55679),
        ),
        ImageRecord(
            service="prometheus",
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
        # Grafana is AGPL and cannot be built here: the tests run a stand-in carrying this metadata.
        ImageRecord(
            service="grafana",
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
    )
}
