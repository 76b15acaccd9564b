"""Podman through its own SDK (podman-py) and the libpod REST API."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Mapping
from typing import Any

import podman
import podman.errors
import requests

from telemetry_stack.engines.base import (
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
# libpod's pull stream reports text lines such as "Copying blob sha256:abc... done".
_BLOB_LINE = re.compile(r"^(Copying (?:blob|config)) (?:sha256:)?([0-9a-f]{12})[0-9a-f]*\s*(.*)$")


# Back after its process dies; at boot, podman-restart.service starts containers with this policy (Podman 4.x treats
# unless-stopped like always at run time, and that unit starts only "always" ones).
RESTART_POLICY = "always"
RESTART_SERVICE = "podman-restart.service"


class PodmanEngine:
    name = "podman"
    source = ""
    known_version = ""

    def __init__(self, url: str):
        self.url = url
        self._client = podman.PodmanClient(base_url=url, timeout=API_TIMEOUT)

    def version(self) -> str:
        return self._client.version().get("Version", "unknown")

    def rootless(self) -> bool:
        return bool(self._client.info().get("host", {}).get("security", {}).get("rootless"))

    def after_reboot(self) -> RebootReport:
        """Podman has no daemon to start containers at boot: its podman-restart.service does, if enabled."""
        rootless = self.rootless()
        scope = ["--user"] if rootless else []
        enable = f"systemctl {'--user ' if rootless else ''}enable {RESTART_SERVICE}"
        fix = f"{enable} && loginctl enable-linger $USER" if rootless else f"sudo {enable}"
        if "/machine/" in self.url or "podman-machine" in self.url:
            return RebootReport(None, "cannot check inside the podman machine", f"podman machine ssh {fix}")
        try:
            answer = subprocess.run(
                ["systemctl", *scope, "is-enabled", RESTART_SERVICE], capture_output=True, text=True, timeout=5
            )
        except (OSError, subprocess.TimeoutExpired):
            return RebootReport(None, "cannot tell: no systemctl here", fix)
        state = answer.stdout.strip()
        if state == "enabled":
            return RebootReport(
                True, f"{RESTART_SERVICE} is enabled and starts containers with restart policy {RESTART_POLICY} at boot"
            )
        return RebootReport(
            False,
            f"{RESTART_SERVICE} is {state or 'not installed'}: after a reboot the stack "
            "stays down until `llama-telemetry up`",
            fix,
        )

    def close(self) -> None:
        self._client.close()

    def translate_error(self, exc: BaseException) -> TelemetryError | None:
        # podman-py reports a dropped connection as an APIError caused by an OSError.
        if isinstance(exc, podman.errors.APIError) and not isinstance(exc.__cause__, OSError):
            return TelemetryError(f"Podman refused the request: {exc.explanation or exc}")
        if isinstance(exc, (requests.RequestException, podman.errors.PodmanError)):
            return EngineUnavailable(
                f"Lost the connection to Podman at {self.url}: {exc}.",
                "Check that the Podman API service is still running.",
            )
        return None

    # images
    def image_present(self, ref: str) -> bool:
        return self._client.images.exists(ref)

    def pull(self, ref: str) -> Iterator[PullEvent]:
        try:
            yield from self._pull(ref)
        except podman.errors.APIError as exc:
            raise TelemetryError(f"Pulling {ref} failed: {exc.explanation or exc}", PULL_HINT) from None

    def _pull(self, ref: str) -> Iterator[PullEvent]:
        repo, tag = split_image_ref(ref)
        # With stream=True podman-py yields decoded dicts (its annotations name every mode's type at once).
        stream: Iterator[dict[str, Any]] = self._client.images.pull(  # type: ignore[assignment]
            repo, tag=tag, stream=True, decode=True, compatMode=False
        )
        for event in stream:
            if event.get("error"):
                raise TelemetryError(f"Pulling {ref} failed: {event['error']}", PULL_HINT)
            for line in str(event.get("stream", "")).splitlines():
                match = _BLOB_LINE.match(line.strip())
                if match:
                    yield PullEvent(match.group(2), match.group(3) or match.group(1))
            if event.get("id"):
                yield PullEvent(ref, "Pull complete")

    # containers
    def containers(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        # podman-py takes list filters as "name=value" items; several label filters must all match.
        found = self._client.containers.list(all=True, filters=[f"label={k}={v}" for k, v in labels.items()])
        return matching_containers((self.container(c.id) for c in found), labels)

    def container(self, name_or_id: str) -> ContainerInfo | None:
        try:
            # get() already fetches libpod's inspect document (/containers/{id}/json): no second request.
            return container_info(self._client.containers.get(name_or_id).attrs)
        except podman.errors.NotFound:
            return None

    def create_container(self, spec: ContainerSpec) -> str:
        created = self._client.containers.create(
            spec.image,
            name=spec.name,
            command=list(spec.command) or None,
            user=spec.user,
            environment=dict(spec.environment),
            labels=dict(spec.labels),
            ports={f"{p.container_port}/tcp": (p.host_ip, p.host_port) for p in spec.ports},
            exposed_ports=[f"{p.container_port}/tcp" for p in spec.ports],  # as on Docker: every bound port exposed
            volumes={name: {"bind": path, "mode": "rw"} for name, path in spec.volumes.items()},
            networks={spec.network: {"aliases": list(spec.aliases)}},
            no_new_privileges=True,
            cap_drop=["ALL"],
            # spec.reach_host needs nothing here: Podman gives every container HOST_ALIAS itself.
            restart_policy={"Name": RESTART_POLICY if spec.restart else "no"},  # podman-py needs the dict
        )
        return created.id

    def put_archive(self, container_id: str, path: str, data: bytes) -> None:
        # Straight to the libpod endpoint: podman-py's put_archive cannot pass copyUIDGID, whose default
        # (true) would hand the files to the container's user; configs must stay root-owned, read-only.
        for _attempt in (1, 2):  # one retry: a rare transient failure was seen under load
            response = self._client.api.put(
                f"/containers/{container_id}/archive", params={"path": path, "copyUIDGID": "false"}, data=data
            )
            if response.ok:
                return
        raise TelemetryError(
            f"Podman could not copy the configuration into container {container_id[:12]}: "
            f"HTTP {response.status_code} {response.text.strip()[:200]}"
        )

    def start(self, container_id: str) -> None:
        self._client.containers.get(container_id).start()

    def stop(self, container_id: str, timeout: int) -> None:
        self._client.containers.get(container_id).stop(timeout=timeout, ignore=True)

    def remove_container(self, container_id: str) -> None:
        try:
            # v: the anonymous volumes of the image's VOLUMEs (Jaeger's /tmp) go with the container.
            self._client.containers.get(container_id).remove(force=True, v=True)
        except podman.errors.NotFound:
            pass

    def logs(self, container_id: str, tail: int) -> str:
        chunks: Iterator[bytes] = self._client.containers.get(container_id).logs(tail=tail)  # type: ignore[assignment]
        return b"".join(chunks).decode(errors="replace")

    def stream_logs(self, container_id: str, tail: int, follow: bool) -> Iterator[bytes]:
        return self._client.containers.get(container_id).logs(stream=True, follow=follow, tail=tail)  # type: ignore[return-value]

    # networks and volumes
    def network(self, name: str) -> ResourceInfo | None:
        try:
            return resource_info(self._client.networks.get(name).attrs)
        except podman.errors.NotFound:
            return None

    def create_network(self, name: str, labels: Mapping[str, str]) -> None:
        self._client.networks.create(name, driver="bridge", dns_enabled=True, labels=dict(labels))

    def remove_network(self, name: str) -> None:
        try:
            self._client.networks.remove(name)
        except podman.errors.NotFound:
            pass

    def volume(self, name: str) -> ResourceInfo | None:
        try:
            return resource_info(self._client.volumes.get(name).attrs)
        except podman.errors.NotFound:
            return None

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        self._client.volumes.create(name, labels=dict(labels))

    def remove_volume(self, name: str) -> None:
        try:
            self._client.volumes.remove(name)
        except podman.errors.NotFound:
            pass
