"""Docker Engine through the docker SDK (docker-py), using its low-level API for full control."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import docker
import docker.errors
import docker.utils
import requests

from telemetry_stack.engines.base import (
    HOST_ALIAS,
    PULL_HINT,
    ContainerInfo,
    ContainerSpec,
    PullEvent,
    RebootReport,
    ResourceInfo,
    split_image_ref,
)
from telemetry_stack.engines.inspect import container_info, matching_containers, resource_info
from telemetry_stack.errors import EngineUnavailable, TelemetryError

API_TIMEOUT = 60


# Back with the daemon (after a crash, a daemon restart or a reboot) unless the user stopped it; `down` removes it.
RESTART_POLICY = "unless-stopped"


class DockerEngine:
    name = "docker"
    source = ""
    known_version = ""

    def __init__(self, url: str, api_version: str = "", tls: bool = False):
        self.url = url
        # The API version the ping reported saves docker-py's own /version round trip ("auto").
        self._api = docker.APIClient(
            base_url=url,
            version=api_version or "auto",
            timeout=API_TIMEOUT,
            use_ssh_client=url.startswith("ssh://"),
            tls=(docker.utils.kwargs_from_env().get("tls") or False) if tls else False,
        )

    def version(self) -> str:
        return self._api.version().get("Version", "unknown")

    def rootless(self) -> bool:
        return any("rootless" in opt for opt in self._api.info().get("SecurityOptions") or [])

    def after_reboot(self) -> RebootReport:
        return RebootReport(True, f"containers have restart policy {RESTART_POLICY}: they start with the Docker daemon")

    def close(self) -> None:
        self._api.close()

    def translate_error(self, exc: BaseException) -> TelemetryError | None:
        if isinstance(exc, docker.errors.APIError):
            return TelemetryError(f"Docker refused the request: {exc.explanation or exc}")
        if isinstance(exc, (requests.RequestException, docker.errors.DockerException)):
            return EngineUnavailable(
                f"Lost the connection to Docker at {self.url}: {exc}.", "Check that the Docker daemon is still running."
            )
        return None

    # images
    def image_present(self, ref: str) -> bool:
        try:
            self._api.inspect_image(ref)
            return True
        except docker.errors.ImageNotFound:
            return False

    def pull(self, ref: str) -> Iterator[PullEvent]:
        try:
            yield from self._pull(ref)
        except docker.errors.APIError as exc:
            raise TelemetryError(f"Pulling {ref} failed: {exc.explanation or exc}", PULL_HINT) from None

    def _pull(self, ref: str) -> Iterator[PullEvent]:
        repo, tag = split_image_ref(ref)
        for event in self._api.pull(repo, tag=tag, stream=True, decode=True):
            if "error" in event:
                raise TelemetryError(f"Pulling {ref} failed: {event['error']}", PULL_HINT)
            detail = event.get("progressDetail") or {}
            yield PullEvent(event.get("id", ref), event.get("status", ""), detail.get("current"), detail.get("total"))

    # containers
    def containers(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        found = self._api.containers(all=True, filters={"label": [f"{k}={v}" for k, v in labels.items()]})
        return matching_containers((self.container(c["Id"]) for c in found), labels)

    def container(self, name_or_id: str) -> ContainerInfo | None:
        try:
            return container_info(self._api.inspect_container(name_or_id))
        except docker.errors.NotFound:
            return None

    def create_container(self, spec: ContainerSpec) -> str:
        host_config = self._api.create_host_config(
            port_bindings={f"{p.container_port}/tcp": (p.host_ip, p.host_port) for p in spec.ports},
            binds={name: {"bind": path, "mode": "rw"} for name, path in spec.volumes.items()},
            network_mode=spec.network,
            security_opt=["no-new-privileges"],
            cap_drop=["ALL"],
            extra_hosts={HOST_ALIAS: "host-gateway"} if spec.reach_host else None,
            restart_policy={"Name": RESTART_POLICY} if spec.restart else None,
        )
        networking = self._api.create_networking_config(
            # docker-py takes {network: endpoint config}; types-docker's stub says a single config.
            {spec.network: self._api.create_endpoint_config(aliases=list(spec.aliases))}  # type: ignore[arg-type]
        )
        created = self._api.create_container(
            spec.image,
            name=spec.name,
            command=list(spec.command) or None,
            user=spec.user,
            environment=dict(spec.environment),
            labels=dict(spec.labels),
            # Docker publishes a binding only for a port the container exposes, and the real images do not
            # expose all of ours. (port, proto) pairs: docker-py appends "/tcp" to a "N/tcp" string again.
            ports=[(p.container_port, "tcp") for p in spec.ports],
            volumes=list(spec.volumes.values()),
            host_config=host_config,
            networking_config=networking,
        )
        return created["Id"]

    def put_archive(self, container_id: str, path: str, data: bytes) -> None:
        self._api.put_archive(container_id, path, data)

    def start(self, container_id: str) -> None:
        self._api.start(container_id)

    def stop(self, container_id: str, timeout: int) -> None:
        self._api.stop(container_id, timeout=timeout)

    def remove_container(self, container_id: str) -> None:
        try:
            # v: the anonymous volumes of the image's VOLUMEs (Jaeger's /tmp) go with the container.
            self._api.remove_container(container_id, force=True, v=True)
        except docker.errors.NotFound:
            pass

    def logs(self, container_id: str, tail: int) -> str:
        return self._api.logs(container_id, tail=tail).decode(errors="replace")

    def stream_logs(self, container_id: str, tail: int, follow: bool) -> Iterator[bytes]:
        return self._api.logs(container_id, stream=True, follow=follow, tail=tail)

    # networks and volumes
    def network(self, name: str) -> ResourceInfo | None:
        try:
            return resource_info(self._api.inspect_network(name))
        except docker.errors.NotFound:
            return None

    def create_network(self, name: str, labels: Mapping[str, str]) -> None:
        self._api.create_network(name, driver="bridge", labels=dict(labels), check_duplicate=True)

    def remove_network(self, name: str) -> None:
        try:
            self._api.remove_network(name)
        except docker.errors.NotFound:
            pass

    def volume(self, name: str) -> ResourceInfo | None:
        try:
            return resource_info(self._api.inspect_volume(name))
        except docker.errors.NotFound:
            return None

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        self._api.create_volume(name, labels=dict(labels))

    def remove_volume(self, name: str) -> None:
        try:
            self._api.remove_volume(name)
        except docker.errors.NotFound:
            pass
