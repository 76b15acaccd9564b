"""Compose and Kubernetes output: parse, match the Stack `up` deploys, and validate against the Kubernetes API
schemas offline (kubernetes-validate ships them)."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from telemetry_stack.export import (
    COMPOSE_FILE,
    KUBERNETES_FILE,
    compose_files,
    kubernetes_documents,
    kubernetes_files,
    relative_path,
)
from telemetry_stack.render import container_path
from telemetry_stack.settings import PUBLISHED_PORTS, build_settings
from telemetry_stack.stack import HASH_LABEL, build_stack

# The oldest and the newest Kubernetes release whose schemas kubernetes-validate ships.
K8S_VERSIONS = (kubernetes_validate.utils.all_versions()[0], kubernetes_validate.utils.latest_version())

# libyaml when present: the manifests carry every dashboard, and the pure-Python loader takes a second.
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _stack(**options):
    return build_stack(build_settings(**options))


def _compose(stack) -> dict:
    return yaml.load(compose_files(stack)[COMPOSE_FILE], Loader=FAST_LOADER)


def _manifests(stack) -> list[dict]:
    return list(yaml.load_all(kubernetes_files(stack)[KUBERNETES_FILE], Loader=FAST_LOADER))


def _by_kind(documents: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


def _parse_port(text: str) -> tuple[int, str, int]:
    """ "127.0.0.1:3000:3000" / "[::1]:3000:3000" -> (container port, host ip, host port)."""
    host, host_port, container_port = text.rsplit(":", 2)
    return int(container_port), host.strip("[]"), int(host_port)


# ----------------------------------------------------------------------------------------------- compose


def test_relative_path_inverts_container_path():
    for service in _stack().services:
        for path in service.files:
            assert container_path(relative_path(service.name, path)) == (service.name, path)


def test_compose_services_equal_the_stack():
    stack = _stack(project="ci", ports=["grafana=23000", "prometheus=29090"])
    files = compose_files(stack)
    compose = _compose(stack)
    assert "version" not in compose  # the Compose Specification: compose >= 1.27, compose v2, podman-compose
    assert list(compose["services"]) == [s.name for s in stack.services]
    for service in stack.services:
        spec, entry = service.container, compose["services"][service.name]
        assert entry["container_name"] == spec.name
        assert entry["image"] == spec.image
        assert entry["user"] == spec.user
        assert entry.get("command", []) == list(spec.command)
        assert entry.get("environment", {}) == dict(spec.environment)
        assert entry["labels"] == dict(spec.labels)
        assert tuple(_parse_port(p) for p in entry.get("ports", [])) == tuple(
            (p.container_port, p.host_ip, p.host_port) for p in spec.ports
        )
        assert entry["networks"] == [spec.network] and spec.aliases == (service.name,)
        assert entry["cap_drop"] == ["ALL"] and entry["security_opt"] == ["no-new-privileges:true"]
        assert entry["restart"] == "unless-stopped"  # back with the engine, as `up` makes them

        named, bound = {}, {}
        for volume in entry.get("volumes", []):
            source, target, *mode = volume.split(":")
            (bound if source.startswith("./") else named)[target] = (source, mode)
        assert {source: target for target, (source, _) in named.items()} == dict(spec.volumes)
        assert set(bound) == set(service.files)  # every file `up` copies in is mounted at the same path
        for target, (source, mode) in bound.items():
            assert mode == ["ro,z"]
            assert files[source[2:]] == service.files[target]  # written next to compose.yaml, same bytes

    assert compose["networks"] == {stack.network: {"name": stack.network, "labels": stack.labels}}
    assert compose["volumes"] == {name: {"name": name, "labels": stack.labels} for name in stack.volumes}
    assert stack.network == "llama-telemetry-ci"
    assert _parse_port(compose["services"]["grafana"]["ports"][0]) == (3000, "127.0.0.1", 23000)


def test_compose_gives_an_image_volume_a_tmpfs_not_an_anonymous_volume():
    # The real Jaeger image declares VOLUME /tmp; Prometheus's /prometheus is covered by its named volume.
    services = _compose(_stack())["services"]
    assert {name: entry.get("tmpfs") for name, entry in services.items()} == {
        "jaeger": ["/tmp"],
        "otel-collector": None,
        "prometheus": None,
        "grafana": None,
    }


def test_compose_writes_the_files_render_writes():
    stack = _stack()
    files = compose_files(stack)
    rendered = {relative_path(s.name, path) for s in stack.services for path in s.files}
    assert set(files) == rendered | {COMPOSE_FILE}
    assert (
        "./otel-collector/config.yaml:/etc/otelcol-contrib/config.yaml:ro,z"
        in _compose(stack)["services"]["otel-collector"]["volumes"]
    )


def test_compose_ports_are_quoted_and_ipv6_is_bracketed():
    text = compose_files(_stack())[COMPOSE_FILE].decode()
    assert '- "127.0.0.1:3000:3000"' in text
    ipv6 = _compose(_stack(bind="::1"))
    assert ipv6["services"]["grafana"]["ports"] == ["[::1]:3000:3000"]


def test_compose_escapes_dollar_signs_from_interpolation():
    compose = _compose(_stack(grafana_password="pa$$word-${HOME}"))
    assert compose["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "pa$$$$word-$${HOME}"


@pytest.mark.slow
def test_compose_file_is_accepted_by_docker_compose(tmp_path):
    """docker-compose validates against the Compose schema and resolves every bind-mount source."""
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    for relative, content in compose_files(_stack(project="check", grafana_password="a$b")).items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(content)
    result = subprocess.run(
        ["docker-compose", "-f", str(tmp_path / COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    # `config` prints compose again, so re-escaped; the engine test checks the container gets "$" itself.
    assert resolved["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "a$$b"
    assert "WARNING" not in result.stderr, result.stderr  # e.g. an unset variable interpolated as ""


# -------------------------------------------------------------------------------------------- kubernetes


@pytest.mark.slow
@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("logs, deployments", [(False, 4), (True, 5)])
def test_every_manifest_validates_against_the_kubernetes_schemas(version, logs, deployments):
    documents = _manifests(_stack(project="ci", grafana_password="not-admin", logs=logs))
    assert [d["kind"] for d in documents].count("Deployment") == deployments
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)


@pytest.mark.slow
def test_the_validator_rejects_a_broken_manifest():
    deployment = copy.deepcopy(_by_kind(_manifests(_stack()), "Deployment")["grafana"])
    deployment["spec"]["template"]["spec"]["securityContext"]["runAsUsr"] = 472
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[-1], strict=True)


def test_written_file_equals_the_documents():
    stack = _stack()
    assert _manifests(stack) == kubernetes_documents(stack)


def test_config_maps_mount_exactly_the_rendered_files():
    stack = _stack()
    documents = _manifests(stack)
    config_maps = _by_kind(documents, "ConfigMap")
    assert {"otel-collector-config", "prometheus-config", "grafana-config", "grafana-dashboards"} <= set(config_maps)
    assert len(config_maps["grafana-dashboards"]["data"]) == 6
    used_keys: set[tuple[str, str]] = set()
    for name, deployment in _by_kind(documents, "Deployment").items():
        service = stack.service(name)
        pod = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounted: dict[str, str] = {}
        for mount in pod["containers"][0]["volumeMounts"]:
            source = volumes[mount["name"]].get("configMap")
            if source is None:
                continue
            assert mount["readOnly"] is True
            for item in source["items"]:
                mounted[f"{mount['mountPath']}/{item['path']}"] = config_maps[source["name"]]["data"][item["key"]]
                used_keys.add((source["name"], item["key"]))
        assert set(mounted) == set(service.files), name
        for path, content in mounted.items():
            assert content.encode() == service.files[path], path
    assert used_keys == {(n, key) for n, cm in config_maps.items() for key in cm["data"]}  # no stray keys


def test_services_resolve_the_hostnames_the_configs_use():
    stack = _stack()
    documents = _manifests(stack)
    services = _by_kind(documents, "Service")
    assert set(services) == {"jaeger", "otel-collector", "prometheus", "grafana"}
    deployments = _by_kind(documents, "Deployment")
    ports = {}
    for name, service in services.items():
        assert service["spec"]["type"] == "ClusterIP"
        pod_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pod_labels.items()
        assert deployments[name]["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
        container_ports = {
            p["name"]: p["containerPort"]
            for p in deployments[name]["spec"]["template"]["spec"]["containers"][0]["ports"]
        }
        for port in service["spec"]["ports"]:
            assert len(port["name"]) <= 15
            assert container_ports[port["targetPort"]] == port["port"]
        ports[name] = {p["port"] for p in service["spec"]["ports"]}

    files = {relative_path(s.name, p): c for s in stack.services for p, c in s.files.items()}
    collector = yaml.safe_load(files["otel-collector/config.yaml"])
    prometheus = yaml.safe_load(files["prometheus/prometheus.yml"])
    datasources = yaml.safe_load(files["grafana/provisioning/datasources/llama-telemetry.yaml"])
    wanted = [collector["exporters"]["otlp_grpc/jaeger"]["endpoint"]]
    wanted += [
        t
        for job in prometheus["scrape_configs"]
        for c in job["static_configs"]
        for t in c["targets"]
        if not t.startswith("localhost")
    ]
    wanted += [d["url"].removeprefix("http://") for d in datasources["datasources"]]
    assert len(wanted) == 4
    for target in wanted:
        host, port = target.rsplit(":", 1)
        assert int(port) in ports[host], target


def test_deployments_run_the_stack_images_as_their_users():
    stack = _stack(project="ci")
    documents = _manifests(stack)
    claims = _by_kind(documents, "PersistentVolumeClaim")
    for name, deployment in _by_kind(documents, "Deployment").items():
        spec = stack.service(name).container
        template = deployment["spec"]["template"]
        pod = template["spec"]
        (container,) = pod["containers"]
        assert container["image"] == spec.image
        assert container.get("args", []) == list(spec.command)
        uid = int(spec.user)
        assert pod["securityContext"]["runAsUser"] == uid and pod["securityContext"]["fsGroup"] == uid
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert container["securityContext"] == {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        }
        # The pod template changes whenever the config does, without anything derived from secrets.
        assert template["metadata"]["annotations"] == {HASH_LABEL: stack.service(name).public_hash}

        # Readiness on the same endpoint `up` polls.
        health = stack.service(name).health
        probe = container["readinessProbe"]["httpGet"]
        by_name = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert probe["path"] == health.path
        assert by_name[probe["port"]] == next(p.container_port for p in PUBLISHED_PORTS if p.key == health.port_key)

        # Data directories are PersistentVolumeClaims named like the engine volumes.
        volumes = {v["name"]: v for v in pod["volumes"]}
        data = {
            volumes[m["name"]]["persistentVolumeClaim"]["claimName"]: m["mountPath"]
            for m in container["volumeMounts"]
            if "persistentVolumeClaim" in volumes[m["name"]]
        }
        assert data == dict(spec.volumes)
        assert set(data) <= set(claims)
        # With a read-only root, everything written outside the data volumes goes to an emptyDir.
        scratch = {m["mountPath"] for m in container["volumeMounts"] if "emptyDir" in volumes[m["name"]]}
        assert "/tmp" in scratch
    assert set(claims) == set(stack.volumes)


def test_grafana_password_is_a_secret_not_a_literal():
    stack = _stack(grafana_password="hunter2-long")
    documents = _manifests(stack)
    secret = _by_kind(documents, "Secret")["grafana-admin"]
    assert secret["stringData"] == {"admin-user": "admin", "admin-password": "hunter2-long"}
    for document in documents:
        if document["kind"] != "Secret":
            assert "hunter2-long" not in json.dumps(document)
    env = {
        e["name"]: e
        for e in _by_kind(documents, "Deployment")["grafana"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["GF_SECURITY_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "grafana-admin",
        "key": "admin-password",
    }
    spec_env = stack.service("grafana").container.environment
    assert set(env) == set(spec_env)
    for name, entry in env.items():
        assert "valueFrom" in entry or entry["value"] == spec_env[name]


def test_every_object_carries_the_standard_and_our_labels():
    stack = _stack(project="ci")
    for document in _manifests(stack):
        labels = document["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "llama-telemetry"
        assert labels["app.kubernetes.io/managed-by"] == "llama-telemetry"
        assert labels["app.kubernetes.io/instance"] == "llama-telemetry-ci"
        assert labels["app.kubernetes.io/name"] in ("jaeger", "otel-collector", "prometheus", "grafana")
        assert stack.labels.items() <= labels.items()
    grafana = _by_kind(_manifests(stack), "Deployment")["grafana"]
    assert grafana["metadata"]["labels"]["app.kubernetes.io/version"] == "12.4.14"


def test_compose_maps_the_host_alias_only_where_up_does():
    plain = _compose(_stack())
    assert not any("extra_hosts" in entry for entry in plain["services"].values())
    scraping = _compose(_stack(ogx_metrics="9464"))
    assert scraping["services"]["prometheus"]["extra_hosts"] == ["host.containers.internal:host-gateway"]
    assert [name for name, entry in scraping["services"].items() if "extra_hosts" in entry] == ["prometheus"]


@pytest.mark.slow  # the pure-Python emitter takes over half a second on the dashboards
def test_libyaml_and_pure_python_emitters_write_the_same_files(monkeypatch):
    from telemetry_stack import export

    stack = _stack(logs=True, grafana_password="a$b'c\"d\nline two", ogx_metrics="9464")
    fast = {**export.kubernetes_files(stack), **export.compose_files(stack)}

    class PureDumper(yaml.SafeDumper):
        pass

    PureDumper.add_representer(str, export._represent_str)
    PureDumper.add_representer(export._Quoted, export._represent_quoted)
    monkeypatch.setitem(export._DUMP_OPTIONS, "Dumper", PureDumper)
    assert {**export.kubernetes_files(stack), **export.compose_files(stack)} == fast
