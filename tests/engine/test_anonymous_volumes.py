"""No anonymous volume is left behind, on Docker and on Podman.

Jaeger's image declares `VOLUME /tmp`, so the engine gives every Jaeger container an anonymous volume there. A
container removed without its anonymous volumes (`docker rm` without `-v`) leaves that volume behind: one more
after every `up` that recreates Jaeger, and after every `down`. The engines are shared with other test runs, so
instead of counting all volumes this test follows the very volumes mounted in our containers, read from the
engine's own inspect (`Mounts`), and checks with `volume ls` that each is gone once its container is.
"""

from __future__ import annotations

import json
import socket

from telemetry_stack.stack import resource_names
from tests.conftest import run_cli
from tests.engine.conftest import cli_env, engine_cli

PROJECT = "anonvol"
_NETWORK, _CONTAINERS, _VOLUMES = resource_names(PROJECT)
JAEGER = _CONTAINERS["jaeger"]
NAMED_VOLUMES = frozenset(_VOLUMES.values())  # every name a data volume of the project may have


def _volumes(engine_name: str) -> set[str]:
    listed = engine_cli(engine_name, "volume", "ls", "-q")
    assert listed.returncode == 0, listed.stderr
    return set(listed.stdout.split())


def _anonymous_mounts(engine_name: str, containers: list[str]) -> dict[str, dict[str, str]]:
    """{container: {mount path: volume}} of every volume mounted in these containers that is not a named data
    volume of the project, as the engine's inspect reports them."""
    inspected = engine_cli(engine_name, "inspect", *containers)
    assert inspected.returncode == 0, inspected.stderr
    found: dict[str, dict[str, str]] = {}
    for container in json.loads(inspected.stdout):
        for mount in container["Mounts"]:
            if mount["Type"] == "volume" and mount["Name"] not in NAMED_VOLUMES:
                found.setdefault(container["Name"].lstrip("/"), {})[mount["Destination"]] = mount["Name"]
    return found


def _containers(summary: dict) -> list[str]:
    return [service["container"] for service in summary["services"]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_no_anonymous_volume_is_left_behind_by_a_recreate_or_down(engine_name, images):
    env = {**cli_env(engine_name, images), "LLAMA_TELEMETRY_PROJECT": PROJECT, "LLAMA_TELEMETRY_PORTS": "auto"}
    before = _volumes(engine_name)
    assert not NAMED_VOLUMES & before, "a previous run left this project's volumes behind"
    try:
        up = run_cli("up", "--json", env=env)
        assert up.code == 0, up.stderr
        # Only Jaeger's /tmp is anonymous: Prometheus' VOLUME /prometheus is covered by its named data volume.
        first = _anonymous_mounts(engine_name, _containers(up.json))
        assert {container: sorted(paths) for container, paths in first.items()} == {JAEGER: ["/tmp"]}
        created = first[JAEGER]["/tmp"]
        assert created not in before and created in _volumes(engine_name)

        # A new Jaeger port changes Jaeger's config hash: `up` replaces that container, and only that one.
        moved = run_cli("up", "--json", "--port", f"jaeger={_free_port()}", env=env)
        assert moved.code == 0, moved.stderr
        actions = {s["name"]: s["action"] for s in moved.json["services"]}
        assert actions.pop("jaeger") == "recreated" and set(actions.values()) == {"unchanged"}, moved.json
        second = _anonymous_mounts(engine_name, _containers(moved.json))
        assert {container: sorted(paths) for container, paths in second.items()} == {JAEGER: ["/tmp"]}
        recreated = second[JAEGER]["/tmp"]
        assert recreated != created
        after_recreate = _volumes(engine_name)
        assert created not in after_recreate, "the replaced Jaeger container left its anonymous /tmp volume behind"
        assert recreated in after_recreate

        # `down` without --volumes keeps the data volumes, and nothing else.
        down = run_cli("down", "--json", env=env)
        assert down.code == 0, down.stderr
        kept = set(down.json["kept_volumes"])
        assert kept and kept <= NAMED_VOLUMES, down.json
        after_down = _volumes(engine_name)
        assert {created, recreated} & after_down == set(), "`down` left Jaeger's anonymous /tmp volume behind"
        assert kept <= after_down
    finally:
        cleanup = run_cli("down", "--volumes", env=env)
        assert cleanup.code == 0, cleanup.stderr
    assert not NAMED_VOLUMES & _volumes(engine_name)
