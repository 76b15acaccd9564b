"""Orchestration through the Engine interface only: preflight, convergence plan, concurrent create and
start, health wait, status and teardown.

Ownership rule: a resource is ours only if it carries our labels for this project. Anything else that
happens to use one of our names is reported and never stopped, replaced or removed.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Callable, Iterable, Iterator, Mapping, TypeVar

from telemetry_stack.engines.base import ContainerInfo, Engine, PortBinding, ResourceInfo
from telemetry_stack.errors import ConflictError, EngineUnavailable, ServiceFailed, TelemetryError, UsageError
from telemetry_stack.health import Poller, http_url, probe, reachable_host
from telemetry_stack.settings import DEFAULT_PASSWORD, PUBLISHED_PORTS, SERVICES, Settings
from telemetry_stack.stack import (
    GRAFANA_ADMIN_USER,
    HASH_LABEL,
    HEALTH_PROBES,
    MANAGED_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    Service,
    Stack,
    build_stack,
    project_labels,
    resource_names,
)

STOP_TIMEOUT = 10  # seconds a service gets to shut down cleanly (Prometheus flushes its TSDB)
LOG_TAIL = 20
GIVEN_UP = ""  # the `ready` event set when `up` stops waiting (failure, timeout, Ctrl-C)
STATE_CHECK_INTERVAL = 0.25  # how often the wait loop asks the engine whether a container exited

# The SDKs keep 10 pooled connections per client; more concurrent calls would open and drop extra ones.
MAX_CONCURRENT_CALLS = 8

CREATE, RECREATE, START, KEEP = "created", "recreated", "started", "unchanged"

K = TypeVar("K")
V = TypeVar("V")


@dataclass
class ServiceReport:
    """What `up` and `status` say about one service."""

    name: str
    container: str
    state: str
    healthy: bool
    urls: dict[str, str]
    id: str = ""
    image: str = ""
    action: str = ""

    def as_dict(self) -> dict:
        data = {**self.__dict__, "id": self.id[:12]}
        if not self.action:  # status reports have no action
            del data["action"]
        return data


@dataclass
class Plan:
    actions: dict[str, str] = field(default_factory=dict)  # service -> CREATE | RECREATE | START | KEEP
    create_network: bool = False
    create_volumes: list[str] = field(default_factory=list)


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


@contextlib.contextmanager
def open_engine(requested: str | None, announce: Callable[[str], None]) -> Iterator[Engine]:
    """Detect and connect, announce the choice, and turn SDK/connection errors into one-line errors."""
    from telemetry_stack.engines.detect import connect

    engine = None
    try:
        engine = connect(requested)
        version = engine.known_version or engine.version()
        announce(f"Using {engine.name} {version} at {engine.url} ({engine.source}).")
        yield engine
    except TelemetryError:
        raise
    except Exception as exc:  # SDK exceptions are translated by the backend that raised them
        translated = engine.translate_error(exc) if engine else None
        if translated is None and engine is None:
            translated = EngineUnavailable(f"Could not connect to the {requested or 'container'} engine: {exc}")
        if translated is None:
            raise
        raise translated from exc
    finally:
        if engine is not None:
            engine.close()


def service_urls(bindings: Iterable[PortBinding], service: str, engine_url: str) -> dict[str, str]:
    """{port key: URL} for the published ports of a service."""
    ports = {b.container_port: b for b in bindings}
    urls = {}
    for p in PUBLISHED_PORTS:
        if p.service == service and p.container_port in ports:
            binding = ports[p.container_port]
            urls[p.key] = http_url(reachable_host(binding.host_ip, engine_url), binding.host_port)
    return urls


def health_url(service: str, urls: Mapping[str, str]) -> str | None:
    probe_def = HEALTH_PROBES[service]
    base = urls.get(probe_def.port_key)
    return base + probe_def.path if base else None


def _readiness_poller(service: Service, urls: Mapping[str, str], changed: threading.Event) -> Poller:
    """Poll the service's health URL, then its readiness URLs (Grafana's provisioned datasources and dashboards)."""
    return Poller(service.readiness_urls(urls[service.health.port_key]), changed, service.readiness_headers).start()


# ----------------------------------------------------------------------------------------------- up


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

    def of_kind(kind: str) -> dict:
        return {name: value for (k, name), value in found.items() if k == kind}

    return Survey(found[("existing", project)], of_kind("container"), found[("network", network_name)], of_kind("volume"), of_kind("image"))


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
    plan = Plan(create_network=found.network is None, create_volumes=[n for n in stack.volumes if found.volumes[n] is None])
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


def port_in_use(host_ip: str, port: int) -> bool:
    """Can a listener bind host_ip:port? SO_REUSEADDR ignores TIME_WAIT leftovers (Linux still refuses a
    port someone listens on); macOS lets a specific address shadow a wildcard listener, so check that too."""
    addresses = [host_ip]
    if sys.platform == "darwin" and not ipaddress.ip_address(host_ip).is_unspecified:
        addresses.append("::" if ":" in host_ip else "0.0.0.0")
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((address, port))
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL:
                    raise UsageError(f"--bind {host_ip} is not an address of this machine.",
                                     "Use 127.0.0.1 (default), 0.0.0.0 or one of this machine's addresses.") from None
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    return True
    return False


def check_ports(stack: Stack, plan: Plan, existing: Mapping[str, ContainerInfo], engine_url: str) -> None:
    """Every host port a container is about to claim must be free (ports our own containers hold are fine)."""
    if not engine_url.startswith("unix://"):
        return  # a remote engine's ports are not on this machine; the engine itself will refuse a clash
    ours = {b.host_port for info in existing.values() for b in info.ports}
    for service in stack.services:
        if plan.actions[service.name] == KEEP:
            continue
        for binding in service.container.ports:
            if binding.host_port in ours:
                continue
            if port_in_use(binding.host_ip, binding.host_port):
                key = next(p.key for p in PUBLISHED_PORTS if p.service == service.name and p.container_port == binding.container_port)
                raise ConflictError(
                    f"Port {binding.host_port} on {binding.host_ip} ({service.name}) is already in use by another program; nothing was created.",
                    f"Free it, or choose another host port with --port {key}=N.",
                )


def ensure_images(engine: Engine, stack: Stack, plan: Plan, present: Mapping[str, bool], policy: str, on_pull: Callable) -> None:
    needed = {s.container.image: s.name for s in stack.services if plan.actions[s.name] in (CREATE, RECREATE)}
    missing = [f"{ref} ({service})" for ref, service in needed.items() if not present[ref]]
    if policy == "never" and missing:
        raise TelemetryError(
            f"Not available locally, and --pull never forbids pulling: {', '.join(missing)}.",
            f"Load {'it' if len(missing) == 1 else 'them'} first (`{engine.name} pull REF` or `{engine.name} load`), "
            "or allow pulls with --pull missing.",
        )
    for ref in needed:
        if policy == "always" or not present[ref]:
            on_pull(ref, engine.pull(ref))


def _converge_service(
    engine: Engine, service: Service, action: str, existing: ContainerInfo | None, ready: Mapping[str, threading.Event]
) -> str:
    """Bring one service's container to the plan's action; its start waits until the services it starts
    after are ready (`ready` events are also set when `up` gives up, so nothing waits forever)."""
    if action == KEEP:
        return existing.id
    if action == START:
        container_id = existing.id
    else:
        if existing is not None:  # RECREATE: stop cleanly so data is flushed, then replace
            engine.stop(existing.id, STOP_TIMEOUT)
            engine.remove_container(existing.id)
        container_id = engine.create_container(service.container)
        if service.files:
            engine.put_archive(container_id, "/", service.archive())
    for name in service.starts_after:
        ready[name].wait()
    if ready[GIVEN_UP].is_set():
        raise ServiceFailed(f"{service.name} was not started: `up` stopped waiting.")
    engine.start(container_id)
    return container_id


def up(settings: Settings, ui) -> dict:
    """Converge the engine to the stack described by settings and wait until every service is healthy."""
    started = time.monotonic()
    with open_engine(settings.engine, ui.note) as engine, project_lock(engine, settings.project, settings.timeout, ui):
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="survey") as side:
            surveying = side.submit(survey, engine, settings.project, settings.images.values())
            # Render while the engine answers (--ports auto must first see which ports a running stack holds).
            stack = None if settings.ports_auto else build_stack(settings)
            found = surveying.result()
        if stack is None:
            settings = replace(settings, ports=auto_ports(settings, found.existing))
            stack = build_stack(settings)
        check_ownership(engine.name, stack, found)
        plan = make_plan(stack, found)
        check_ports(stack, plan, found.existing, engine.url)
        ensure_images(engine, stack, plan, found.images, settings.pull, ui.pull_progress)

        creations = {name: partial(engine.create_volume, name, stack.labels) for name in plan.create_volumes}
        if plan.create_network:
            creations[stack.network] = partial(engine.create_network, stack.network, stack.labels)
        if creations:
            run_concurrently(creations)

        ready = {name: threading.Event() for name in [*(s.name for s in stack.services), GIVEN_UP]}
        try:
            # Containers are created and started in parallel (a service with starts_after waits for those to be
            # ready before it starts); each is polled as soon as it has started.
            with ThreadPoolExecutor(max_workers=len(stack.services), thread_name_prefix="converge") as pool:
                try:
                    converging = {
                        s.name: pool.submit(_converge_service, engine, s, plan.actions[s.name], found.existing.get(s.name), ready)
                        for s in stack.services
                    }
                    reports = wait_healthy(engine, stack, converging, settings.timeout, ui, ready)
                except BaseException:
                    ready[GIVEN_UP].set()
                    for event in ready.values():
                        event.set()
                    raise
        except KeyboardInterrupt:
            raise Interrupted(f"Interrupted; left as it is: {_describe_state(engine, stack)}.") from None
        for report in reports:
            report.action = plan.actions[report.name]
        summary = _summary(engine, stack, reports)
        summary["grafana_default_password"] = settings.grafana_password == DEFAULT_PASSWORD
        summary["elapsed_seconds"] = round(time.monotonic() - started, 2)
        return summary


class Interrupted(TelemetryError):
    exit_code = 130

    def __init__(self, message: str):
        super().__init__(message, "Run `llama-telemetry up` to finish it, or `llama-telemetry down` to remove it.")


def _describe_state(engine: Engine, stack: Stack) -> str:
    containers = _existing_containers_readonly(engine, stack.project)
    parts = [f"{s.name} {containers[s.name].state}" if s.name in containers else f"{s.name} not created" for s in stack.services]
    network = "present" if engine.network(stack.network) else "absent"
    return f"{', '.join(parts)}; network {stack.network} {network}"


def auto_ports(settings: Settings, existing: Mapping[str, ContainerInfo]) -> dict[str, int]:
    """--ports auto: keep the host ports a running stack already has (so nothing is recreated), and
    pick free ones for the rest."""
    chosen: dict[str, int] = {key: settings.ports[key] for key in settings.fixed_ports}
    for p in PUBLISHED_PORTS:
        if p.key in chosen:
            continue
        info = existing.get(p.service)
        held = [b.host_port for b in (info.ports if info else ()) if b.container_port == p.container_port]
        if held:
            chosen[p.key] = held[0]
    for p in PUBLISHED_PORTS:
        while p.key not in chosen:
            candidate = free_port(settings.bind)
            if candidate not in chosen.values():
                chosen[p.key] = candidate
    return chosen


def free_port(host_ip: str) -> int:
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host_ip, 0))
        except OSError as exc:
            raise UsageError(f"--bind {host_ip}: {exc.strerror}; --ports auto picks ports free on this machine.",
                             "Bind to an address of this machine (e.g. 127.0.0.1 or 0.0.0.0).") from None
        return sock.getsockname()[1]


@contextlib.contextmanager
def project_lock(engine: Engine, project: str, timeout: float, ui) -> Iterator[None]:
    """One `up`/`down` at a time per engine and project on this machine: a second one waits, then fails cleanly."""
    import fcntl
    import hashlib
    import os
    import tempfile

    lock_dir = os.path.join(tempfile.gettempdir(), f"llama-telemetry-{os.getuid()}")
    os.makedirs(lock_dir, mode=0o700, exist_ok=True)
    key = hashlib.sha256(f"{engine.url}|{project}".encode()).hexdigest()[:16]
    with open(os.path.join(lock_dir, f"{key}.lock"), "w") as handle:
        deadline = time.monotonic() + timeout
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    ui.note(f"Another llama-telemetry command is changing project {project!r}; waiting for it to finish ...")
                    announced = True
                if time.monotonic() > deadline:
                    raise ConflictError(
                        f"Another llama-telemetry command kept project {project!r} busy for {timeout:g} s.",
                        "Wait for it to finish (or stop it), then run this command again.",
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


def run_concurrently(tasks: Mapping[K, Callable[[], V]]) -> dict[K, V]:
    """Run independent engine calls at once (at most MAX_CONCURRENT_CALLS); the first failure is raised."""
    with ThreadPoolExecutor(max_workers=min(len(tasks), MAX_CONCURRENT_CALLS), thread_name_prefix="engine") as pool:
        futures = {key: pool.submit(task) for key, task in tasks.items()}
        results, failures = {}, []
        for key, future in futures.items():
            try:
                results[key] = future.result()
            except Exception as exc:
                failures.append(exc)
    if failures:
        raise failures[0]
    return results


def wait_healthy(
    engine: Engine, stack: Stack, started: Mapping[str, Future], timeout: float, ui, ready: Mapping[str, threading.Event]
) -> list[ServiceReport]:
    """Poll each service's health URL from the moment its container is started (each future yields a
    container id); fail at once if a container exits, or at the deadline."""
    changed = threading.Event()  # set by pollers and finished futures, so the loop wakes at once
    reports, pollers = {}, {}
    for service in stack.services:
        urls = service_urls(service.container.ports, service.name, engine.url)
        reports[service.name] = ServiceReport(service.name, service.container.name, "starting", False, urls, "", service.container.image)
        started[service.name].add_done_callback(lambda _: changed.set())
    deadline = time.monotonic() + timeout
    next_state_check = time.monotonic() + STATE_CHECK_INTERVAL
    try:
        with ui.wait_progress(list(reports)) as progress:
            while True:
                changed.clear()
                for name, future in started.items():
                    if future.done() and name not in pollers:
                        reports[name].id = future.result()  # re-raises a failed create/start
                        pollers[name] = _readiness_poller(stack.service(name), reports[name].urls, changed)
                for name, poller in pollers.items():
                    if poller.healthy.is_set() and not reports[name].healthy:
                        reports[name].healthy, reports[name].state = True, "running"
                        ready[name].set()  # a service that starts after this one may start now
                        progress(name, "healthy")
                pending = [name for name, report in reports.items() if not report.healthy]
                if not pending:
                    break
                if time.monotonic() >= next_state_check:  # not on every wake: the engine is busy starting the rest
                    for name in pending:
                        if name in pollers:
                            _fail_if_stopped(engine, stack.service(name), reports[name].id, progress)
                    next_state_check = time.monotonic() + STATE_CHECK_INTERVAL
                if time.monotonic() > deadline:
                    raise ServiceFailed(
                        f"{', '.join(pending)} did not become healthy within {timeout:g} s.",
                        "Check the log lines above, or give it longer with --timeout.",
                        details="\n".join(_log_tail(engine, reports[name].id, name) for name in pending if reports[name].id),
                    )
                changed.wait(max(0.0, next_state_check - time.monotonic()))
    finally:
        for poller in pollers.values():
            poller.cancel()
    return [reports[s.name] for s in stack.services]


def _fail_if_stopped(engine: Engine, service: Service, container_id: str, progress: Callable[[str, str], None]) -> None:
    info = engine.container(container_id)
    if info is not None and info.running:
        return
    state = "removed" if info is None else f"{info.state} (exit code {info.exit_code})"
    progress(service.name, state)
    log = _log_tail(engine, container_id, service.name)
    raise ServiceFailed(
        f"{service.name} stopped before it became healthy: {state}.",
        diagnose(service, log, engine.name)
        or "Fix the cause shown in its log, then run `llama-telemetry up` again (or `llama-telemetry down`).",
        details=log,
    )


def diagnose(service: Service, log: str, engine_name: str) -> str | None:
    """Explain the two failures the images report only as "permission denied" / "not writable"."""
    text = log.lower()
    if "permission denied" not in text and "not writable" not in text:
        return None
    user = service.container.user
    for volume, path in service.container.volumes.items():
        if path in log:
            return (
                f"Its data volume {volume} (at {path}) is not writable by uid {user}, the image's user. "
                f"Give it back (`{engine_name} run --rm --user 0 -v {volume}:/d --entrypoint chown {service.container.image} -R {user} /d`) "
                "or start from scratch with `llama-telemetry down --volumes` (deletes its data)."
            )
    return (
        f"A configuration file copied into it is not readable by uid {user}, the image's user "
        "(check a custom --image: its config directories must be readable by that user)."
    )


def _log_tail(engine: Engine, container_id: str, name: str) -> str:
    try:
        lines = engine.logs(container_id, LOG_TAIL).rstrip()
    except Exception as exc:  # the container may already be gone; the failure itself matters more
        lines = f"(logs unavailable: {exc})"
    return f"--- last log lines of {name} ---\n{lines or '(no output)'}"


def _summary(engine: Engine, stack: Stack, reports: list[ServiceReport]) -> dict:
    services = {r.name: r for r in reports}
    otlp_http = services.get("otel-collector").urls.get("otlp-http") if "otel-collector" in services else None
    summary = {
        "engine": engine.name,
        "engine_url": engine.url,
        "project": stack.project,
        "network": stack.network,
        "healthy": all(r.healthy for r in reports),
        "services": [r.as_dict() for r in reports],
        "grafana": {"url": services["grafana"].urls.get("grafana"), "user": GRAFANA_ADMIN_USER} if "grafana" in services else None,
        "env": _app_environment(otlp_http) if otlp_http else {},
    }
    return summary


# ------------------------------------------------------------------------------------- status, down


def _app_environment(otlp_http: str) -> dict[str, str]:
    """What an app needs to send here: OTLP/HTTP, exponential histograms for accurate percentiles, and no logs."""
    from telemetry_stack.catalog import EXPONENTIAL_HISTOGRAMS

    name, value = EXPONENTIAL_HISTOGRAMS
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_http, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", name: value,
            # The collector has no logs pipeline: an app exporting logs (opentelemetry-instrument does by default,
            # GenAI content capture sends its events as logs) would get 404s and log export errors.
            "OTEL_LOGS_EXPORTER": "none"}


def status(requested: str | None, project: str, ui) -> dict:
    network_name, _, _ = resource_names(project)
    with open_engine(requested, ui.note) as engine:
        existing = _existing_containers_readonly(engine, project)
        reports = []
        for name in SERVICES:
            info = existing.get(name)
            if info is None:
                reports.append(ServiceReport(name, "", "missing", False, {}))
                continue
            urls = service_urls(info.ports, name, engine.url)
            target = health_url(name, urls)
            healthy = bool(info.running and target and probe(target))
            reports.append(ServiceReport(name, info.name, info.state, healthy, urls, info.id, info.image))
        summary = _summary(engine, Stack(project, network_name, (), ()), reports)
        summary["network_present"] = engine.network(network_name) is not None
        summary["after_reboot"] = asdict(engine.after_reboot())
        return summary


def _existing_containers_readonly(engine: Engine, project: str) -> dict[str, ContainerInfo]:
    return {info.labels.get(SERVICE_LABEL, ""): info for info in engine.containers(project_labels(project))}


def down(requested: str | None, project: str, remove_volumes: bool, ui) -> dict:
    network_name, _, volume_names = resource_names(project)
    with open_engine(requested, ui.note) as engine, project_lock(engine, project, 120.0, ui):
        containers = engine.containers(project_labels(project))

        def stop_and_remove(info: ContainerInfo) -> str:
            if info.running:
                engine.stop(info.id, STOP_TIMEOUT)
            engine.remove_container(info.id)
            return info.name

        removed = list(run_concurrently({info.id: (lambda i=info: stop_and_remove(i)) for info in containers}).values()) if containers else []
        result = {"engine": engine.name, "engine_url": engine.url, "project": project, "removed_containers": sorted(removed)}

        network = engine.network(network_name)
        result["removed_network"] = None
        if network and is_ours(network.labels, project):
            engine.remove_network(network_name)
            result["removed_network"] = network_name
        elif network:
            ui.warn(f"Network {network_name!r} was not created by llama-telemetry; left untouched.")

        result["removed_volumes"], result["kept_volumes"] = [], []
        for name in volume_names.values():
            volume = engine.volume(name)
            if volume is None:
                continue
            if not is_ours(volume.labels, project):
                ui.warn(f"Volume {name!r} was not created by llama-telemetry; left untouched.")
            elif remove_volumes:
                engine.remove_volume(name)
                result["removed_volumes"].append(name)
            else:
                result["kept_volumes"].append(name)
        return result


def require_healthy(summary: dict) -> None:
    """For commands that need a running stack (verify, demo): say exactly what is missing."""
    unhealthy = [s["name"] for s in summary["services"] if not s["healthy"]]
    if unhealthy:
        raise ServiceFailed(
            f"Project {summary['project']!r} is not running and healthy on {summary['engine']}: {', '.join(unhealthy)}.",
            "Run `llama-telemetry up` first (see `llama-telemetry status`).",
        )


def logs(requested: str | None, project: str, service: str, tail: int, follow: bool, ui) -> Iterator[bytes]:
    if service not in SERVICES:
        raise UsageError(f"Unknown service {service!r}.", f"Use one of: {', '.join(SERVICES)}.")
    with open_engine(requested, ui.note) as engine:
        info = _existing_containers_readonly(engine, project).get(service)
        if info is None:
            raise TelemetryError(f"{service} of project {project!r} is not deployed.", "Run `llama-telemetry up` first.")
        yield from engine.stream_logs(info.id, tail, follow)
