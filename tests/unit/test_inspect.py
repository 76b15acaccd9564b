"""What inspect.py makes of real inspect documents, recorded from Docker 20.10 and Podman 4.3 (tests/unit/data/inspect,
whose README says how each was made). Every expectation is written out: ids, names, images, labels, states, exit
codes, networks and port bindings as the engines reported them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from telemetry_stack.engines.base import ContainerInfo, PortBinding, ResourceInfo
from telemetry_stack.engines.inspect import container_info, matching_containers, resource_info

DATA = Path(__file__).resolve().parent / "data" / "inspect"

# The labels the test images carry (tests/engine/images.py); an engine reports them among the container's own.
JAEGER_IMAGE_LABELS = {
    "io.llama-telemetry-test.binary-sha256": "d40cf7f6ce4fe6b0ce031539d35373376d73c2f3cc46d4e33360dbe59070810e",
    "io.llama-telemetry-test.program": "real",
    "io.llama-telemetry-test.rootfs-hash": "0e3a05905f66858fd5430cb1afcff1e9",
}
PROMETHEUS_IMAGE_LABELS = {
    "io.llama-telemetry-test.binary-sha256": "dab9f9d28a92b93ca00c8b32b3af408d588b48e4e9a699889684724ebbe0fefc",
    "io.llama-telemetry-test.program": "real",
    "io.llama-telemetry-test.rootfs-hash": "ad5fa41bf6fb4d7492aa4ea86016cffa",
}
OURS = {"io.llama-telemetry.managed": "true", "io.llama-telemetry.project": "insprec"}


def recorded(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def test_a_running_container_of_ours_on_docker():
    info = container_info(recorded("docker-container-running"))
    assert info == ContainerInfo(
        id="a83df05e80a730182a322e5973bda0b31cf40c4b472e3aff7ea023cf00611a7a",
        name="insprec-prometheus",  # Docker's "/insprec-prometheus"
        image="localhost/llama-telemetry-test/prometheus:v3.16.0",  # Config.Image, not the top-level sha256 id
        labels={
            **PROMETHEUS_IMAGE_LABELS,
            "io.llama-telemetry.config-hash": "3ed433bf7366a32b",
            "io.llama-telemetry.managed": "true",
            "io.llama-telemetry.project": "insprec",
            "io.llama-telemetry.service": "prometheus",
        },
        state="running",
        exit_code=0,
        networks=("llama-telemetry-insprec",),
        ports=(PortBinding(9090, "127.0.0.1", 56157),),
    )
    assert info.running is True


def test_a_running_container_of_ours_on_podman():
    info = container_info(recorded("podman-container-running"))
    assert info == ContainerInfo(
        id="b506ca2ae30492f62318d52ffb8de52eb2c96ebf5556628a76990a91989a8248",
        name="insprec-prometheus",
        image="localhost/llama-telemetry-test/prometheus:v3.16.0",  # ImageName; libpod's Image is the bare id
        labels={
            **PROMETHEUS_IMAGE_LABELS,
            "io.llama-telemetry.config-hash": "b32ec343f1b1ce86",
            "io.llama-telemetry.managed": "true",
            "io.llama-telemetry.project": "insprec",
            "io.llama-telemetry.service": "prometheus",
        },
        state="running",
        exit_code=0,
        networks=("llama-telemetry-insprec",),
        ports=(PortBinding(9090, "127.0.0.1", 43571),),
    )
    assert info.running is True


@pytest.mark.parametrize(
    ("document", "container_id", "config_hash", "host_port"),
    [
        (
            "docker-container-killed",
            "8745223f5d7ed11e68ac0bc9f6177740fde78e042df428e6a2b8bacfc080472e",
            "44d16aa85baa15fb",
            60383,
        ),
        (
            "podman-container-killed",
            "9ab3b3df0f209052618d91b4c01ce34e0aaeed14639b5b6f69be9895a3e8567d",
            "a81fcbb63809afa4",
            48875,
        ),
    ],
)
def test_a_killed_container_has_exited_with_its_exit_code(document, container_id, config_hash, host_port):
    # Podman lists each port the image exposes under PortBindings, unbound ones as null: only 16686 is bound.
    info = container_info(recorded(document))
    assert info == ContainerInfo(
        id=container_id,
        name="insprec-jaeger",
        image="localhost/llama-telemetry-test/jaeger:2.13.0",
        labels={
            **JAEGER_IMAGE_LABELS,
            "io.llama-telemetry.config-hash": config_hash,
            "io.llama-telemetry.managed": "true",
            "io.llama-telemetry.project": "insprec",
            "io.llama-telemetry.service": "jaeger",
        },
        state="exited",
        exit_code=137,
        networks=("llama-telemetry-insprec",),
        ports=(PortBinding(16686, "127.0.0.1", host_port),),
    )
    assert info.running is False


@pytest.mark.parametrize(
    ("document", "container_id", "network"),
    [
        (
            "docker-container-created-no-ports",
            "90668528586ed65a0f2205391af9ba07bf078c46e2b88f66c2d55a451225bff3",
            "bridge",
        ),
        (
            "podman-container-created-no-ports",
            "32e19715e7749e65b0d744a166470617bc9c9a871848000e4eca64a882cc3b95",
            "podman",
        ),
    ],
)
def test_a_foreign_container_that_never_started_publishes_nothing(document, container_id, network):
    info = container_info(recorded(document))
    assert info == ContainerInfo(
        id=container_id,
        name="insprec-noports",
        image="localhost/llama-telemetry-test/jaeger:2.13.0",
        labels=JAEGER_IMAGE_LABELS,  # the image's labels only: none of ours
        state="created",
        exit_code=0,
        networks=(network,),
        ports=(),
    )
    assert info.running is False


def test_docker_bindings_keep_their_host_ip_and_those_without_a_host_port_are_left_out():
    # -p 16686 -p 0.0.0.0:16687:16686 -p [::1]:16688:16686 -p 4318, never started: Docker keeps HostPort "" for the
    # two without a host port until the container starts.
    info = container_info(recorded("docker-container-created-any-host"))
    assert info.ports == (PortBinding(16686, "0.0.0.0", 16687), PortBinding(16686, "::1", 16688))
    assert (info.name, info.state, info.networks) == ("insprec-anyhost", "created", ("bridge",))


def test_podman_bindings_keep_their_host_ip_ipv6_included_sorted_by_port():
    # The same flags on Podman: it picks the missing host ports at create and writes 0.0.0.0 as "".
    info = container_info(recorded("podman-container-created-any-host"))
    assert info.ports == (
        PortBinding(4318, "", 35709),
        PortBinding(16686, "", 16687),
        PortBinding(16686, "::1", 16688),
        PortBinding(16686, "", 32777),
    )
    assert (info.name, info.state, info.networks) == ("insprec-anyhost", "created", ("podman",))


@pytest.mark.parametrize(
    ("libpod_status", "state"),
    [("configured", "created"), ("stopped", "exited"), ("created", "created"), ("exited", "exited")],
)
def test_libpod_state_names_read_as_dockers(libpod_status, state):
    # libpod says "configured" before a container is first initialised and "stopped" between stop and cleanup.
    document = recorded("podman-container-killed")
    document["State"]["Status"] = libpod_status
    assert container_info(document).state == state


def test_a_document_without_state_or_network_settings_still_reads():
    document = {"Id": "0a7071f7527f", "Name": "/bare"}
    assert container_info(document) == ContainerInfo(
        id="0a7071f7527f", name="bare", image="", labels={}, state="unknown", exit_code=None, networks=(), ports=()
    )


def test_docker_network_and_volume():
    assert resource_info(recorded("docker-network")) == ResourceInfo(
        name="llama-telemetry-insprec",
        id="b88a50834f6ce8c83e7cf3384b40ae5464cbb4b3b0f681997c51aa2ca56fa1b0",
        labels=OURS,
    )
    # Volumes have no id: the name stands in.
    assert resource_info(recorded("docker-volume")) == ResourceInfo(
        name="llama-telemetry-insprec-prometheus-data", id="llama-telemetry-insprec-prometheus-data", labels=OURS
    )


def test_podman_network_and_volume():
    # libpod's network document spells name, id and labels in lower case; its volume document like Docker's.
    assert resource_info(recorded("podman-network")) == ResourceInfo(
        name="llama-telemetry-insprec",
        id="dc000001246c8b4b3f7e25f43ef78e5190c2808769b8e5e49bba021ce1702ef3",
        labels=OURS,
    )
    assert resource_info(recorded("podman-volume")) == ResourceInfo(
        name="llama-telemetry-insprec-prometheus-data", id="llama-telemetry-insprec-prometheus-data", labels=OURS
    )


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_only_existing_containers_carrying_every_label_match(engine):
    running, killed, foreign = (
        container_info(recorded(f"{engine}-container-{kind}")) for kind in ("running", "killed", "created-no-ports")
    )
    infos = [running, None, killed, foreign]  # None: a container removed between listing and inspecting
    assert [i.name for i in matching_containers(infos, OURS)] == ["insprec-prometheus", "insprec-jaeger"]
    service = {**OURS, "io.llama-telemetry.service": "jaeger"}
    assert [i.name for i in matching_containers(infos, service)] == ["insprec-jaeger"]
    assert matching_containers(infos, {**OURS, "io.llama-telemetry.project": "other"}) == []
    assert [i.name for i in matching_containers(infos, {})] == [
        "insprec-prometheus",
        "insprec-jaeger",
        "insprec-noports",
    ]
