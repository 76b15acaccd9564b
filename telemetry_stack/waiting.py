"""The health wait: poll every service from the moment it starts, fail at once when one exits, explain why."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future

from telemetry_stack.engines.base import Engine, PortBinding
from telemetry_stack.errors import ServiceFailed
from telemetry_stack.health import Poller, http_url, reachable_host
from telemetry_stack.reporting import ProgressUpdate, Reporter
from telemetry_stack.results import ServiceReport
from telemetry_stack.services import PUBLISHED_PORTS, definition
from telemetry_stack.stack import Service, Stack

LOG_TAIL = 20  # log lines shown when a service fails
STATE_CHECK_INTERVAL = 0.25  # how often the wait loop asks the engine whether a container exited


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
    probe = definition(service).health
    base = urls.get(probe.port_key)
    return base + probe.path if base else None


def _readiness_poller(service: Service, urls: Mapping[str, str], changed: threading.Event) -> Poller:
    """Poll the service's health URL, then its readiness URLs (Grafana's provisioned datasources and dashboards)."""
    return Poller(service.readiness_urls(urls[service.health.port_key]), changed, service.readiness_headers).start()


def wait_healthy(
    engine: Engine,
    stack: Stack,
    started: Mapping[str, Future[str]],
    timeout: float,
    ui: Reporter,
    ready: Mapping[str, threading.Event],
) -> list[ServiceReport]:
    """Poll each service's health URL from the moment its container is started (each future yields a
    container id); fail at once if a container exits, or at the deadline."""
    changed = threading.Event()  # set by pollers and finished futures, so the loop wakes at once
    reports: dict[str, ServiceReport] = {}
    pollers: dict[str, Poller] = {}
    for service in stack.services:
        urls = service_urls(service.container.ports, service.name, engine.url)
        reports[service.name] = ServiceReport(
            service.name, service.container.name, "starting", False, urls, "", service.container.image
        )
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
                        details="\n".join(
                            _log_tail(engine, reports[name].id, name) for name in pending if reports[name].id
                        ),
                    )
                changed.wait(max(0.0, next_state_check - time.monotonic()))
    finally:
        for poller in pollers.values():
            poller.cancel()
    return [reports[s.name] for s in stack.services]


def _fail_if_stopped(engine: Engine, service: Service, container_id: str, progress: ProgressUpdate) -> None:
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
