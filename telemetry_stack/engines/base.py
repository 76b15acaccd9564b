"""The engine interface the deployer talks to, and the plain data it exchanges.

Backends translate these calls to one SDK each (docker-py, podman-py); nothing above this layer
imports an SDK, so the orchestration logic is the same on both engines.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from telemetry_stack.errors import TelemetryError


@dataclass(frozen=True)
class PortBinding:
    container_port: int
    host_ip: str
    host_port: int


@dataclass(frozen=True)
class ContainerSpec:
    """Everything needed to create one container."""

    name: str
    image: str
    user: str
    command: tuple[str, ...]
    environment: Mapping[str, str] = field(repr=False)  # may hold a secret (Grafana's password)
    labels: Mapping[str, str]
    ports: tuple[PortBinding, ...]
    volumes: Mapping[str, str]  # volume name -> mount path
    network: str
    aliases: tuple[str, ...]
    reach_host: bool = False  # HOST_ALIAS must resolve to the machine the engine runs on
    restart: bool = False  # comes back after its process dies, the engine restarts or the machine reboots


# The name a container reaches the engine's host by. Podman (4.x and later, podman machine included) adds
# it to every container itself; Docker needs it mapped to its host-gateway (Engine 20.10 and later).
HOST_ALIAS = "host.containers.internal"


@dataclass(frozen=True)
class ContainerInfo:
    """What the engine reports about one container, normalised across engines."""

    id: str
    name: str
    image: str
    labels: Mapping[str, str]
    state: str  # created | running | exited | paused | ... as the engine says
    exit_code: int | None
    networks: tuple[str, ...]
    ports: tuple[PortBinding, ...] = field(default=())

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class ResourceInfo:
    """A network or volume: enough to tell whether we own it."""

    name: str
    id: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class RebootReport:
    """Whether the stack's containers come back after the machine reboots, and if not (or unknown) how to make them."""

    comes_back: bool | None  # None: cannot tell from here
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class PullEvent:
    """One progress report from an image pull (one layer, or the image as a whole)."""

    layer: str
    status: str
    current: int | None = None
    total: int | None = None


class Engine(Protocol):
    name: str  # "docker" | "podman"
    url: str  # where it answered, e.g. unix:///var/run/docker.sock
    source: str  # why it was chosen ("default Docker socket", "CONTAINER_HOST", ...)
    known_version: str  # the version its ping reported ("" when unknown)

    def translate_error(self, exc: BaseException) -> TelemetryError | None: ...
    def version(self) -> str: ...
    def rootless(self) -> bool: ...
    def after_reboot(self) -> RebootReport: ...
    def close(self) -> None: ...

    def image_present(self, ref: str) -> bool: ...
    def pull(self, ref: str) -> Iterator[PullEvent]: ...

    def containers(self, labels: Mapping[str, str]) -> list[ContainerInfo]: ...
    def container(self, name_or_id: str) -> ContainerInfo | None: ...
    def create_container(self, spec: ContainerSpec) -> str: ...
    def put_archive(self, container_id: str, path: str, data: bytes) -> None: ...
    def start(self, container_id: str) -> None: ...
    def stop(self, container_id: str, timeout: int) -> None: ...
    def remove_container(self, container_id: str) -> None: ...
    def logs(self, container_id: str, tail: int) -> str: ...
    def stream_logs(self, container_id: str, tail: int, follow: bool) -> Iterator[bytes]: ...

    def network(self, name: str) -> ResourceInfo | None: ...
    def create_network(self, name: str, labels: Mapping[str, str]) -> None: ...
    def remove_network(self, name: str) -> None: ...

    def volume(self, name: str) -> ResourceInfo | None: ...
    def create_volume(self, name: str, labels: Mapping[str, str]) -> None: ...
    def remove_volume(self, name: str) -> None: ...


PULL_HINT = "Check the image reference and your registry access, or load the image and use --pull never."


def split_image_ref(ref: str) -> tuple[str, str | None]:
    """Split `repo[:tag][@digest]` into what the pull APIs take (repository, tag or digest)."""
    if "@" in ref:
        repo, digest = ref.split("@", 1)
        return repo, digest
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1 :]
    return ref, None
