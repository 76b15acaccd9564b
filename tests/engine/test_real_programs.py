"""The test images are the real programs at the pinned releases, carrying exactly the real images' metadata,
and every configuration we render passes the real collector's own validation."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import tarfile
import time

import pytest
import requests
import yaml

from telemetry_stack.deploy import STOP_TIMEOUT
from telemetry_stack.services import IMAGES
from telemetry_stack.settings import build_settings
from telemetry_stack.stack import build_stack, resource_names
from tests.conftest import REAL_PROGRAMS, skip_or_fail
from tests.engine import programs
from tests.engine.conftest import engine_cli
from tests.engine.images import BUILD_LABEL, KIND_LABEL, image_labels, inspect_image

_, CONTAINERS, _ = resource_names("default")
PROMETHEUS_FIRST_SCRAPES = 6  # seconds: more than one scrape interval (5 s) after `up`

# Every variant of the collector config a user can get: default, --redact-content, another project, other ports.
CONFIG_VARIANTS = {
    "default": {},
    "redact-content": {"redact_content": True},
    "logs": {"logs": True},
    "logs-redact-content": {"logs": True, "redact_content": True},
    "project": {"project": "ci"},
    "custom-ports": {"ports": ["otlp-grpc=14317", "otlp-http=14318", "collector-health=23133"]},
}


@pytest.fixture(scope="module")
def built() -> dict[str, str]:
    if programs.go_command() is None:
        skip_or_fail("go", "Go is not installed: the real programs cannot be built")
    return {service: str(programs.ensure_built(service)) for service in REAL_PROGRAMS}


@pytest.mark.parametrize("service", REAL_PROGRAMS)
def test_each_built_program_is_the_pinned_release(built, service):
    """The tag `up` pulls for users and the release the tests run are the same (read from the binary)."""
    info = programs.build_info(built[service])
    assert programs.release_of(service, info) == IMAGES[service].tag


def _component_types(config: dict) -> dict[str, set[str]]:
    return {
        section: {name.split("/")[0] for name in config.get(section) or {}} for section in programs.COLLECTOR_COMPONENTS
    }


def _collector_config(variant: dict) -> bytes:
    stack = build_stack(build_settings(**variant))
    return stack.service("otel-collector").files["/etc/otelcol-contrib/config.yaml"]


def test_the_collector_build_has_exactly_the_components_the_configs_use():
    used: dict[str, set[str]] = {section: set() for section in programs.COLLECTOR_COMPONENTS}
    for variant in CONFIG_VARIANTS.values():
        for section, types in _component_types(yaml.safe_load(_collector_config(variant))).items():
            used[section] |= types
    assert used == {section: set(components) for section, components in programs.COLLECTOR_COMPONENTS.items()}


@pytest.mark.parametrize("variant", CONFIG_VARIANTS)
def test_every_rendered_collector_config_passes_the_real_collectors_validate(built, variant, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(_collector_config(CONFIG_VARIANTS[variant]))
    result = subprocess.run(
        [built["otel-collector"], "validate", f"--config={path}"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_image_metadata_of_each_engine(engine_name, images):
    """Each built image declares exactly what its real image's Dockerfile declares, never more (no extra
    EXPOSE, VOLUME or ENV), and the three real programs' images (and the Loki stand-in's) hold the binaries built
    above."""
    for service, ref in images.items():
        record = IMAGES[service]
        details = inspect_image(engine_name, ref)
        config = details["Config"]
        declared = {
            "User": config.get("User") or "",
            "Entrypoint": tuple(config.get("Entrypoint") or ()),
            "Cmd": tuple(config.get("Cmd") or ()),
            "Env": dict(item.split("=", 1) for item in config.get("Env") or ()),
            "ExposedPorts": set(config.get("ExposedPorts") or {}),
            "Volumes": set(config.get("Volumes") or {}),
            "WorkingDir": config.get("WorkingDir") or "",
        }
        expected = {
            "User": record.user,
            "Entrypoint": record.entrypoint,
            "Cmd": record.cmd,
            "Env": dict(record.env),
            "ExposedPorts": {f"{port}/tcp" for port in record.expose},
            "Volumes": set(record.volumes),
            "WorkingDir": record.workdir,
        }
        assert declared == expected, f"{service} ({ref}) on {engine_name}"
        labels = image_labels(details)
        if service in REAL_PROGRAMS:
            assert labels[KIND_LABEL] == "real"
        else:
            assert labels[KIND_LABEL] == "stand-in"
        if service in programs.programs():  # built by programs.py: the real three and the Loki stand-in
            binary = programs.ensure_built(service).read_bytes()
            assert labels[BUILD_LABEL] == hashlib.sha256(binary).hexdigest(), (
                f"{service}: the image holds another build"
            )
    assert set(images) == {*REAL_PROGRAMS, "grafana", "loki"}


def test_the_loki_stand_in_answers_as_the_pinned_release():
    if programs.go_command() is None:
        skip_or_fail("go", "Go is not installed: the Loki stand-in cannot be built")
    binary = programs.ensure_built("loki")
    assert programs.release_of("loki", programs.release_info("loki", binary)) == IMAGES["loki"].tag


def _engine_run(engine_name: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([engine_name, *args], capture_output=True, timeout=timeout)


def _copied_out(engine_name: str, container: str, path: str) -> dict[str, tarfile.TarInfo]:
    """`ENGINE cp CONTAINER:PATH -`: the tar stream's members by name (named from the path's last component on)."""
    copied = _engine_run(engine_name, "cp", f"{container}:{path}", "-")
    assert copied.returncode == 0, copied.stderr
    with tarfile.open(fileobj=io.BytesIO(copied.stdout)) as tar:
        return {member.name.rstrip("/"): member for member in tar.getmembers()}


def test_the_loki_stand_in_image_holds_what_the_real_image_holds(engine_name, images):
    """cmd/loki/Dockerfile @ v3.7.6: the binary at /usr/bin/loki, no shell (distroless), /etc/loki with the CMD's
    local-config.yaml and /loki, /loki/rules, /loki/rules-temp owned by loki (10001:10001)."""
    name = f"llama-telemetry-test-loki-files-{os.getpid()}"
    created = _engine_run(engine_name, "create", "--name", name, images["loki"])
    assert created.returncode == 0, created.stderr
    try:
        data = _copied_out(engine_name, name, "/loki")
        assert {n: (m.uid, m.gid) for n, m in data.items()} == dict.fromkeys(
            ("loki", "loki/rules", "loki/rules-temp"), (10001, 10001)
        )
        config = _copied_out(engine_name, name, "/etc/loki")
        assert {n: (m.uid, m.gid) for n, m in config.items()} == dict.fromkeys(
            ("loki", "loki/local-config.yaml"), (10001, 10001)
        )
        binary = _copied_out(engine_name, name, "/usr/bin/loki")["loki"]
        assert binary.isfile() and binary.mode & 0o111
        assert _engine_run(engine_name, "cp", f"{name}:/bin/sh", "-").returncode != 0  # no shell, as distroless
    finally:
        _engine_run(engine_name, "rm", "-f", name)


def test_the_loki_stand_in_starts_from_its_image_defaults_and_fails_where_its_user_cannot_write(engine_name, images):
    """With the image's own CMD (/etc/loki/local-config.yaml) it turns ready; as another user, the real image's
    /loki is not writable and it exits 1 at the first directory it must create, as Loki does."""
    name = f"llama-telemetry-test-loki-run-{os.getpid()}"
    started = _engine_run(
        engine_name,
        "run",
        "-d",
        "--name",
        name,
        "-e",
        "STAND_IN_READY_DELAY=1",
        "-p",
        "127.0.0.1::3100",
        images["loki"],
    )
    assert started.returncode == 0, started.stderr
    try:
        port = _engine_run(engine_name, "port", name, "3100/tcp").stdout.decode().split(":")[-1].strip()
        answers: list[int] = []
        deadline = time.monotonic() + 20
        while not answers or answers[-1] != 200:
            assert time.monotonic() < deadline, answers
            try:
                answers.append(requests.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code)
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        assert answers[0] == 503, answers
        stop_started = time.monotonic()
        assert _engine_run(engine_name, "stop", name).returncode == 0
        assert time.monotonic() - stop_started < STOP_TIMEOUT * 0.8, "the stand-in waited for the kill timeout"
        state = _engine_run(engine_name, "inspect", name, "--format", "{{.State.ExitCode}}").stdout.decode().strip()
        assert state == "0"
    finally:
        _engine_run(engine_name, "rm", "-f", name)

    failed = _engine_run(engine_name, "run", "--rm", "--user", "4242", images["loki"])
    assert failed.returncode == 1, failed.stderr
    assert b'creating WAL folder at "/loki/wal": mkdir /loki/wal: permission denied' in failed.stderr, failed.stderr


# An error, fatal or warning level in the formats the four programs log (zap's console encoding: tab-separated;
# logfmt: level=...; JSON: "level":"..."), or any mention of a deprecation.
LOG_PROBLEM = re.compile(
    r'(?i)(\t(error|fatal|warn)\t|\blevel=(error|fatal|warn|warning)\b|"level":\s*"(error|fatal|warn)|deprecat)'
)
# What only our test build logs: Jaeger built from its Go module lacks the UI assets the published image embeds.
TEST_BUILD_ARTIFACTS = ("ui assets not embedded in the binary",)


def test_no_service_logs_an_error_or_a_deprecation_when_the_stack_starts(tele, engine_name):
    up = tele("up")
    assert up.code == 0, up.stderr
    time.sleep(PROMETHEUS_FIRST_SCRAPES)  # the first scrapes, exports and provisioning behind us
    problems = []
    for container in CONTAINERS.values():
        logs = engine_cli(engine_name, "logs", container)
        problems += [
            f"{container}: {line}"
            for line in (logs.stdout + logs.stderr).splitlines()
            if LOG_PROBLEM.search(line) and not any(artifact in line for artifact in TEST_BUILD_ARTIFACTS)
        ]
    assert not problems, "\n".join(problems)


def test_down_of_a_running_stack_does_not_wait_for_the_stop_timeout(tele):
    """Every real program ends on TERM: none is killed at the 10 s stop timeout (Jaeger did, flushing its
    self-tracing spans to its own closed receiver, until `up` turned that tracing off)."""
    assert tele("up").code == 0
    time.sleep(3)  # a stack that has run a little while, its health endpoints asked (Jaeger's: its query API)
    started = time.monotonic()
    down = tele("down")
    elapsed = time.monotonic() - started
    assert down.code == 0, down.stderr
    assert elapsed < STOP_TIMEOUT * 0.8, f"down took {elapsed:.1f} s: a service waited for the kill timeout"
