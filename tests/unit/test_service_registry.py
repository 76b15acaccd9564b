"""The service registry's facts, written out here independently: what each real image declares (read from its
upstream Dockerfile at the pinned release), and what each service is called and sized as on Kubernetes."""

from __future__ import annotations

from dataclasses import asdict

from telemetry_stack.services import DEFINITIONS, IMAGES, PUBLISHED_PORTS

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def test_each_image_record_is_what_the_real_image_declares():
    records = {name: {k: v for k, v in asdict(record).items() if k != "source"} for name, record in IMAGES.items()}
    assert records == {
        "jaeger": {
            "repository": "docker.io/jaegertracing/jaeger",
            "tag": "2.13.0",
            "user": "10001",
            "entrypoint": ("/cmd/jaeger/jaeger-linux",),
            "cmd": (),
            "env": {"JAEGER_LISTEN_HOST": "0.0.0.0"},
            "expose": (5778, 5779, 4317, 4318, 14268, 14250, 9411, 16686, 13132, 13133),
            "volumes": ("/tmp",),
            "workdir": "",
        },
        "otel-collector": {
            "repository": "docker.io/otel/opentelemetry-collector-contrib",
            "tag": "0.161.0",
            "user": "10001:10001",
            "entrypoint": ("/otelcol-contrib",),
            "cmd": ("--config", "/etc/otelcol-contrib/config.yaml"),
            "env": {},
            "expose": (4317, 4318, 55679),
            "volumes": (),
            "workdir": "",
        },
        "prometheus": {
            "repository": "docker.io/prom/prometheus",
            "tag": "v3.16.0",
            "user": "nobody",
            "entrypoint": ("/bin/prometheus",),
            "cmd": ("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"),
            "env": {},
            "expose": (9090,),
            "volumes": ("/prometheus",),
            "workdir": "/prometheus",
        },
        "grafana": {
            "repository": "docker.io/grafana/grafana",
            "tag": "12.4.14",
            "user": "472",
            "entrypoint": ("/run.sh",),
            "cmd": (),
            "env": {
                "PATH": f"/usr/share/grafana/bin:{BASE_PATH}",
                "GF_PATHS_CONFIG": "/etc/grafana/grafana.ini",
                "GF_PATHS_DATA": "/var/lib/grafana",
                "GF_PATHS_HOME": "/usr/share/grafana",
                "GF_PATHS_LOGS": "/var/log/grafana",
                "GF_PATHS_PLUGINS": "/var/lib/grafana/plugins",
                "GF_PATHS_PROVISIONING": "/etc/grafana/provisioning",
            },
            "expose": (3000,),
            "volumes": (),
            "workdir": "/usr/share/grafana",
        },
        "loki": {
            "repository": "docker.io/grafana/loki",
            "tag": "3.7.6",
            "user": "10001",
            "entrypoint": ("/usr/bin/loki",),
            "cmd": ("-config.file=/etc/loki/local-config.yaml",),
            "env": {},
            "expose": (3100,),
            "volumes": (),
            "workdir": "/",
        },
    }
    # Where each was read: the upstream file, at a release.
    assert all(" @ " in record.source or "revision" in record.source for record in IMAGES.values())


def test_published_ports_and_what_the_user_sees_next_to_them():
    assert [(p.key, p.service, p.container_port, p.title) for p in PUBLISHED_PORTS] == [
        ("jaeger", "jaeger", 16686, "Jaeger UI"),
        ("otlp-grpc", "otel-collector", 4317, "OTLP gRPC"),
        ("otlp-http", "otel-collector", 4318, "OTLP HTTP"),
        ("collector-health", "otel-collector", 13133, "Collector health"),
        ("prometheus", "prometheus", 9090, "Prometheus"),
        ("grafana", "grafana", 3000, "Grafana"),
        ("loki", "loki", 3100, "Loki"),
    ]


def test_kubernetes_extras():
    assert {d.name: (d.component, d.storage_request, d.scratch_dirs) for d in DEFINITIONS} == {
        "jaeger": ("tracing", "", ("/tmp",)),
        "otel-collector": ("collector", "", ("/tmp",)),
        "prometheus": ("metrics", "10Gi", ("/tmp",)),
        "grafana": ("dashboards", "1Gi", ("/tmp", "/var/log/grafana")),  # Grafana also logs to files
        "loki": ("logs", "10Gi", ("/tmp",)),
    }
    assert {d.name: [(p.key, p.number) for p in d.ports if not p.published] for d in DEFINITIONS} == {
        "jaeger": [("otlp-grpc", 4317), ("otlp-http", 4318)],  # the collector's trace exporter sends here
        "otel-collector": [("metrics", 8889)],  # Prometheus scrapes here
        "prometheus": [],
        "grafana": [],
        "loki": [],
    }


def test_registry_entries_cannot_be_changed_at_runtime():
    import dataclasses

    import pytest

    jaeger = DEFINITIONS[0]
    for entry, field in (
        (jaeger, "user"),
        (jaeger.image, "tag"),
        (jaeger.ports[0], "number"),
        (jaeger.health, "path"),
        (PUBLISHED_PORTS[0], "container_port"),
    ):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(entry, field, None)
