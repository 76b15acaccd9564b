"""What `up` finds and what it will do: the survey of a project's names, ownership, and the convergence plan.

Ownership rule: a resource is ours only if it carries our labels for this project. Anything else that
happens to use one of our names is reported and never stopped, replaced or removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from telemetry_stack.engines.base import ContainerInfo, Engine, ResourceInfo
from telemetry_stack.errors import ConflictError
from telemetry_stack.services import SERVICES
from telemetry_stack.session import run_concurrently
from telemetry_stack.stack import (
    HASH_LABEL,
    MANAGED_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    Stack,
    project_labels,
    resource_names,
)

CREATE, RECREATE, START, KEEP = "created", "recreated", "started", "unchanged"


@dataclass
class Plan:
    actions: dict[str, str] = field(default_factory=dict)  # service -> CREATE | RECREATE | START | KEEP
    create_network: bool = False
    create_volumes: list[str] = field(default_factory=list)
    # Our containers of services this stack no longer has (an optional one turned off): removed, volumes kept.
    remove: list[ContainerInfo] = field(default_factory=list)


@dataclass
class Survey:
    """What the engine already holds under a project's names, asked in one concurrent round."""

    existing: dict[str, ContainerInfo]  # our containers, by service
    named: dict[str, ContainerInfo | None]  # whatever holds each of our container names, by name
    network: ResourceInfo | None
    volumes: dict[str, ResourceInfo | None]
    images: dict[str, bool]  # image reference -> present locally


def is_ours(labels: Mapping[str, str] | None, project: str) -> bool:
    labels = labels or {}
    return labels.get(MANAGED_LABEL) == "true" and labels.get(PROJECT_LABEL) == project


def survey(engine: Engine, project: str, image_refs: Iterable[str]) -> Survey:
    """Everything `up` must know before it changes anything, asked concurrently (each is one quick round trip).
    Listing our containers also removes extra copies of a service, which only a crashed earlier run leaves."""
    network_name, container_names, volume_names = resource_names(project)
    queries: dict[tuple[str, str], Callable[[], object]] = {
        ("existing", project): partial(_existing_containers, engine, project),
        ("network", network_name): partial(engine.network, network_name),
    }
    queries.update({("container", name): partial(engine.container, name) for name in container_names.values()})
    queries.update({("volume", name): partial(engine.volume, name) for name in volume_names.values()})
    queries.update({("image", ref): partial(engine.image_present, ref) for ref in set(image_refs)})
    found = run_concurrently(queries)

    def of_kind(kind: str) -> dict[str, Any]:
        return {name: value for (k, name), value in found.items() if k == kind}

    existing: Any = found[("existing", project)]
    network: Any = found[("network", network_name)]
    return Survey(existing, of_kind("container"), network, of_kind("volume"), of_kind("image"))


def check_ownership(kind: str, stack: Stack, found: Survey) -> None:
    """Fail before touching anything if one of our names is taken by a resource we did not create."""
    for service in stack.services:
        holder = found.named[service.container.name]  # KeyError, never a silent pass, if the names disagree
        if holder and not is_ours(holder.labels, stack.project):
            raise ConflictError(
                f"A container named {holder.name!r} exists but was not created by llama-telemetry (project {stack.project!r}); "
                "it was left untouched.",
                f"Remove or rename it yourself (`{kind} rm -f {holder.name}` / `{kind} rename {holder.name} NEW`), "
                "or deploy beside it with --project NAME.",
            )
    if found.network and not is_ours(found.network.labels, stack.project):
        raise ConflictError(
            f"A network named {stack.network!r} exists but was not created by llama-telemetry; it was left untouched.",
            f"Remove it yourself (`{kind} network rm {stack.network}`) or deploy beside it with --project NAME.",
        )
    for name in stack.volumes:
        volume = found.volumes[name]
        if volume and not is_ours(volume.labels, stack.project):
            raise ConflictError(
                f"A volume named {name!r} exists but was not created by llama-telemetry; it was left untouched.",
                f"Remove it yourself (`{kind} volume rm {name}`) or deploy beside it with --project NAME.",
            )


def make_plan(stack: Stack, found: Survey) -> Plan:
    plan = Plan(
        create_network=found.network is None, create_volumes=[n for n in stack.volumes if found.volumes[n] is None]
    )
    wanted = {s.name for s in stack.services}
    plan.remove = [info for service, info in found.existing.items() if service not in wanted]
    for service in stack.services:
        current = found.existing.get(service.name)
        if current is None:
            plan.actions[service.name] = CREATE
        elif (
            current.labels.get(HASH_LABEL) != service.config_hash
            or current.name != service.container.name
            or plan.create_network  # the network was deleted behind our back: the old container cannot start
            or stack.network not in current.networks
        ):
            plan.actions[service.name] = RECREATE
        elif current.running:
            plan.actions[service.name] = KEEP
        else:
            plan.actions[service.name] = START
    return plan


def _existing_containers(engine: Engine, project: str) -> dict[str, ContainerInfo]:
    """Our containers by service; extra copies of a service (should never exist) are removed."""
    by_service: dict[str, ContainerInfo] = {}
    for info in engine.containers(project_labels(project)):
        service = info.labels.get(SERVICE_LABEL, "")
        if service in by_service or service not in SERVICES:
            engine.remove_container(info.id)
        else:
            by_service[service] = info
    return by_service


def containers_by_service(engine: Engine, project: str) -> dict[str, ContainerInfo]:
    """A project's containers by service, as they are (for status, logs and reports: nothing is removed)."""
    return {info.labels.get(SERVICE_LABEL, ""): info for info in engine.containers(project_labels(project))}
