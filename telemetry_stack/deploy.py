"""The commands that change or read a project on an engine: `up`, `down`, `status`, `logs`.

Thin on purpose, like compose's project.py over its service and parallel modules: the engine session
(`session`), what exists and what to do (`planning`), host ports (`hostports`), the project lock (`lock`)
and the health wait (`waiting`) each live in their own module. Nothing here imports an SDK.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import Any

from telemetry_stack.engines.base import ContainerInfo, Engine, PullEvent
from telemetry_stack.errors import ServiceFailed, TelemetryError, UsageError
from telemetry_stack.health import probe
from telemetry_stack.hostports import auto_ports, check_ports
from telemetry_stack.lock import project_lock
from telemetry_stack.planning import (
    CREATE,
    KEEP,
    RECREATE,
    START,
    Plan,
    check_ownership,
    containers_by_service,
    is_ours,
    make_plan,
    survey,
)
from telemetry_stack.reporting import Reporter
from telemetry_stack.results import DownResult, GrafanaLogin, ServiceReport, StatusResult, UpResult
from telemetry_stack.services import DEFINITIONS, GRAFANA_ADMIN_USER, SERVICES
from telemetry_stack.session import open_engine, run_concurrently
from telemetry_stack.settings import DEFAULT_PASSWORD, Settings
from telemetry_stack.stack import Service, Stack, build_stack, project_labels, resource_names
from telemetry_stack.waiting import health_url, service_urls, wait_healthy

STOP_TIMEOUT = 10  # seconds a service gets to shut down cleanly (Prometheus flushes its TSDB)

# With Loki: the app's log records go to the collector, and GenAI instrumentations send prompts and
# responses as log events (removed again in the collector with --redact-content).
LOGS_ENVIRONMENT = {
    "OTEL_LOGS_EXPORTER": "otlp",
    "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED": "true",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true",
}
GIVEN_UP = ""  # the `ready` event set when `up` stops waiting (failure, timeout, Ctrl-C)


def ensure_images(
    engine: Engine,
    stack: Stack,
    plan: Plan,
    present: Mapping[str, bool],
    policy: str,
    on_pull: Callable[[str, Iterator[PullEvent]], None],
) -> None:
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
    if action in (KEEP, START):
        assert existing is not None  # the plan keeps or starts only containers that exist
        if action == KEEP:
            return existing.id
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


def up(settings: Settings, ui: Reporter) -> UpResult:
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

        if plan.remove:
            run_concurrently({info.id: partial(_stop_and_remove, engine, info) for info in plan.remove})
            ui.note(
                f"Removed {', '.join(sorted(i.name for i in plan.remove))}: not part of this stack's settings (data volumes kept)."
            )

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
                        s.name: pool.submit(
                            _converge_service, engine, s, plan.actions[s.name], found.existing.get(s.name), ready
                        )
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
        return UpResult(
            **_stack_report(engine, stack.project, stack.network, reports),
            grafana_default_password=settings.grafana_password == DEFAULT_PASSWORD,
            elapsed_seconds=round(time.monotonic() - started, 2),
        )


class Interrupted(TelemetryError):
    exit_code = 130

    def __init__(self, message: str):
        super().__init__(message, "Run `llama-telemetry up` to finish it, or `llama-telemetry down` to remove it.")


def _describe_state(engine: Engine, stack: Stack) -> str:
    containers = containers_by_service(engine, stack.project)
    parts = [
        f"{s.name} {containers[s.name].state}" if s.name in containers else f"{s.name} not created"
        for s in stack.services
    ]
    network = "present" if engine.network(stack.network) else "absent"
    return f"{', '.join(parts)}; network {stack.network} {network}"


def _stack_report(engine: Engine, project: str, network: str, reports: list[ServiceReport]) -> dict[str, Any]:
    """The fields `up` and `status` share (see results.StackReport)."""
    services = {r.name: r for r in reports}
    collector, grafana = services.get("otel-collector"), services.get("grafana")
    otlp_http = collector.urls.get("otlp-http") if collector else None
    return {
        "engine": engine.name,
        "engine_url": engine.url,
        "project": project,
        "network": network,
        "services": reports,
        "grafana": GrafanaLogin(grafana.urls.get("grafana"), GRAFANA_ADMIN_USER) if grafana else None,
        "env": _app_environment(otlp_http, logs="loki" in services) if otlp_http else {},
    }


def _app_environment(otlp_http: str, logs: bool) -> dict[str, str]:
    """What an app needs to send here: OTLP/HTTP, exponential histograms for accurate percentiles, and logs
    (with their GenAI content events) only when the stack has Loki."""
    from telemetry_stack.catalog import EXPONENTIAL_HISTOGRAMS

    name, value = EXPONENTIAL_HISTOGRAMS
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_http,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        name: value,
    }
    if not logs:
        # The collector has no logs pipeline: an app exporting logs (opentelemetry-instrument does by default,
        # GenAI content capture sends its events as logs) would get 404s and log export errors.
        return {**env, "OTEL_LOGS_EXPORTER": "none"}
    return {**env, **LOGS_ENVIRONMENT}


def status(requested: str | None, project: str, ui: Reporter) -> StatusResult:
    network_name, _, _ = resource_names(project)
    with open_engine(requested, ui.note) as engine:
        existing = containers_by_service(engine, project)
        reports = []
        for definition in DEFINITIONS:
            name, info = definition.name, existing.get(definition.name)
            if info is None and definition.enabled_by:
                continue  # an optional service this project was not deployed with
            if info is None:
                reports.append(ServiceReport(name, "", "missing", False, {}))
                continue
            urls = service_urls(info.ports, name, engine.url)
            target = health_url(name, urls)
            healthy = bool(info.running and target and probe(target))
            reports.append(ServiceReport(name, info.name, info.state, healthy, urls, info.id, info.image))
        return StatusResult(
            **_stack_report(engine, project, network_name, reports),
            network_present=engine.network(network_name) is not None,
            after_reboot=engine.after_reboot(),
        )


def down(requested: str | None, project: str, remove_volumes: bool, ui: Reporter) -> DownResult:
    network_name, _, volume_names = resource_names(project)
    with open_engine(requested, ui.note) as engine, project_lock(engine, project, 120.0, ui):
        containers = engine.containers(project_labels(project))

        stopping = {info.id: partial(_stop_and_remove, engine, info) for info in containers}
        removed = list(run_concurrently(stopping).values()) if containers else []
        result = DownResult(engine.name, engine.url, project, sorted(removed))

        network = engine.network(network_name)
        if network and is_ours(network.labels, project):
            engine.remove_network(network_name)
            result.removed_network = network_name
        elif network:
            ui.warn(f"Network {network_name!r} was not created by llama-telemetry; left untouched.")

        for name in volume_names.values():
            volume = engine.volume(name)
            if volume is None:
                continue
            if not is_ours(volume.labels, project):
                ui.warn(f"Volume {name!r} was not created by llama-telemetry; left untouched.")
            elif remove_volumes:
                engine.remove_volume(name)
                result.removed_volumes.append(name)
            else:
                result.kept_volumes.append(name)
        return result


def _stop_and_remove(engine: Engine, info: ContainerInfo) -> str:
    if info.running:
        engine.stop(info.id, STOP_TIMEOUT)  # cleanly: Prometheus flushes its TSDB
    engine.remove_container(info.id)
    return info.name


def require_healthy(report: StatusResult) -> None:
    """For commands that need a running stack (verify, demo): say exactly what is missing."""
    unhealthy = [s.name for s in report.services if not s.healthy]
    if unhealthy:
        raise ServiceFailed(
            f"Project {report.project!r} is not running and healthy on {report.engine}: {', '.join(unhealthy)}.",
            "Run `llama-telemetry up` first (see `llama-telemetry status`).",
        )


def logs(requested: str | None, project: str, service: str, tail: int, follow: bool, ui: Reporter) -> Iterator[bytes]:
    if service not in SERVICES:
        raise UsageError(f"Unknown service {service!r}.", f"Use one of: {', '.join(SERVICES)}.")
    with open_engine(requested, ui.note) as engine:
        info = containers_by_service(engine, project).get(service)
        if info is None:
            raise TelemetryError(
                f"{service} of project {project!r} is not deployed.", "Run `llama-telemetry up` first."
            )
        yield from engine.stream_logs(info.id, tail, follow)
