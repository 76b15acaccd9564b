"""Fixtures for tests against the real Docker Engine and Podman, running the real Jaeger, collector and
Prometheus (built from their Go modules) and the Grafana stand-in."""

from __future__ import annotations

import contextlib
import subprocess

import pytest

from tests.conftest import REAL_PROGRAMS, record_real_programs, run_cli, skip_or_fail
from tests.engine.images import IMAGE_REFS, KIND_LABEL, build_images, image_labels, inspect_image

ENGINE_NAMES = ("docker", "podman")
ENGINE_DIR = __import__("pathlib").Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    """Every test under tests/engine is an engine test (`-m "not engine"` leaves them out)."""
    for item in items:
        if ENGINE_DIR in item.path.parents:
            item.add_marker(pytest.mark.engine)


@pytest.fixture(scope="session", params=ENGINE_NAMES)
def engine_name(request) -> str:
    from telemetry_stack.engines.detect import detect
    from telemetry_stack.errors import EngineUnavailable

    try:
        detect(request.param)
    except EngineUnavailable as exc:
        skip_or_fail(request.param, f"{request.param} is not running here: {exc.message}")
    return request.param


@pytest.fixture(scope="session")
def images(engine_name) -> dict[str, str]:
    """The five test images on this engine; the engine itself confirms Jaeger, the collector and
    Prometheus are the real programs (CI fails a run whose engine tests ran on anything else)."""
    refs = build_images(engine_name, say=print)
    kinds = {
        service: image_labels(inspect_image(engine_name, refs[service]) or {}).get(KIND_LABEL)
        for service in REAL_PROGRAMS
    }
    assert kinds == dict.fromkeys(REAL_PROGRAMS, "real"), kinds
    record_real_programs(engine_name)
    return refs


@pytest.fixture(scope="session")
def engine(engine_name):
    """The product's own Engine object, to inspect what the CLI did (and to set up foreign resources)."""
    from telemetry_stack.engines.detect import connect

    connected = connect(engine_name)
    yield connected
    connected.close()


def cli_env(engine_name: str, images: dict[str, str]) -> dict[str, str]:
    """Environment that points the CLI at one engine and the local images, offline."""
    return {
        "LLAMA_TELEMETRY_CONTAINER": engine_name,
        "LLAMA_TELEMETRY_IMAGE": " ".join(f"{svc}={ref}" for svc, ref in images.items()),
        "LLAMA_TELEMETRY_PULL": "never",
        "LLAMA_TELEMETRY_TIMEOUT": "60",
    }


@contextlib.contextmanager
def deployed(engine_name: str, images: dict[str, str], project: str, *up_args: str):
    """`up --json` of a project of its own on free ports; yields (its environment, up's result); `down --volumes`
    afterwards, whatever happened."""
    env = {**cli_env(engine_name, images), "LLAMA_TELEMETRY_PROJECT": project, "LLAMA_TELEMETRY_PORTS": "auto"}
    try:
        up = run_cli("up", "--json", *up_args, env=env)
        assert up.code == 0, up.stderr
        yield env, up
    finally:
        down = run_cli("down", "--volumes", env=env)
        assert down.code == 0, down.stderr


def stack_names(project: str = "default") -> tuple[str, dict[str, str], dict[str, str]]:
    """(network, {service: container}, {service: volume}) of a project's stack as `up` deploys it by default:
    resource_names also names what an optional service (Loki, with --logs) would have."""
    from telemetry_stack.services import DEFINITIONS
    from telemetry_stack.stack import resource_names

    network, containers, volumes = resource_names(project)
    always = {d.name for d in DEFINITIONS if not d.enabled_by}
    return (
        network,
        {k: v for k, v in containers.items() if k in always},
        {k: v for k, v in volumes.items() if k in always},
    )


def published_urls(summary: dict) -> dict[str, str]:
    """Every URL an up/status summary publishes, by port key (otlp-http, prometheus, ...)."""
    return {key: url for service in summary["services"] for key, url in service["urls"].items()}


@pytest.fixture
def stack_env(engine_name, images) -> dict[str, str]:
    return cli_env(engine_name, images)


@pytest.fixture
def image_env(images):
    """LLAMA_TELEMETRY_IMAGE with some services' images replaced (a --image flag would replace them all)."""

    def env(**overrides: str) -> dict[str, str]:
        chosen = {**images, **{k.replace("_", "-"): v for k, v in overrides.items()}}
        return {"LLAMA_TELEMETRY_IMAGE": " ".join(f"{svc}={ref}" for svc, ref in chosen.items())}

    return env


@pytest.fixture
def tele(stack_env, engine_name):
    """Run the CLI against this engine; whatever a test deploys is torn down afterwards."""

    def run(*args: str, env: dict[str, str] | None = None):
        return run_cli(*args, env={**stack_env, **(env or {})})

    yield run
    result = run("down", "--volumes")
    assert result.code == 0, result.stderr


def assert_not_deployed(engine, project: str = "default") -> None:
    """No container of the project is left, and no network under its name."""
    from telemetry_stack.stack import project_labels, resource_names

    assert engine.containers(project_labels(project)) == []
    assert engine.network(resource_names(project)[0]) is None


def engine_cli(engine_name: str, *args: str) -> subprocess.CompletedProcess:
    """The engine's own CLI, used only by tests to set up foreign resources and inspect volumes."""
    return subprocess.run([engine_name, *args], capture_output=True, text=True, timeout=120)


@contextlib.contextmanager
def foreign_container(engine_name: str, name: str, image: str):
    """A container we did not create (no labels), removed after the test by the test itself."""
    created = engine_cli(engine_name, "create", "--name", name, image)
    assert created.returncode == 0, created.stderr
    try:
        yield created.stdout.strip()
    finally:
        engine_cli(engine_name, "rm", "-f", name)


__all__ = ["IMAGE_REFS", "engine_cli", "foreign_container"]
