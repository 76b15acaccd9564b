"""Normalise inspect output: Docker's and Podman's (libpod) formats agree on the fields we read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from telemetry_stack.engines.base import ContainerInfo, PortBinding, ResourceInfo

# libpod says "configured" for a container that was created but never started.
_STATE_ALIASES = {"configured": "created", "stopped": "exited"}


def _port_bindings(raw: Mapping[str, Any] | None) -> tuple[PortBinding, ...]:
    bindings = []
    for key, hosts in (raw or {}).items():
        container_port = int(key.split("/")[0])
        for host in hosts or ():
            if host.get("HostPort"):
                bindings.append(PortBinding(container_port, host.get("HostIp") or "", int(host["HostPort"])))
    return tuple(sorted(bindings, key=lambda b: (b.container_port, b.host_port)))


def container_info(attrs: Mapping[str, Any]) -> ContainerInfo:
    state = attrs.get("State") or {}
    config = attrs.get("Config") or {}
    status = str(state.get("Status", "unknown")).lower()
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    return ContainerInfo(
        id=attrs["Id"],
        name=attrs.get("Name", "").lstrip("/"),
        image=attrs.get("ImageName") or config.get("Image", ""),
        labels=config.get("Labels") or {},
        state=_STATE_ALIASES.get(status, status),
        exit_code=state.get("ExitCode"),
        networks=tuple(sorted(networks)),
        ports=_port_bindings((attrs.get("HostConfig") or {}).get("PortBindings")),
    )


def resource_info(attrs: Mapping[str, Any]) -> ResourceInfo:
    """Networks and volumes: Docker uses Name/Id/Labels, libpod's network API name/id/labels."""
    name = attrs.get("Name") or attrs.get("name") or ""
    return ResourceInfo(
        name=name,
        id=attrs.get("Id") or attrs.get("id") or name,
        labels=attrs.get("Labels") or attrs.get("labels") or {},
    )


def matching_containers(infos: Iterable[ContainerInfo | None], labels: Mapping[str, str]) -> list[ContainerInfo]:
    """Containers (that still exist) carrying every given label: the engines' filters are checked, not trusted."""
    return [i for i in infos if i is not None and all(i.labels.get(k) == v for k, v in labels.items())]
