"""`llama-telemetry doctor`: what a user checks when something is wrong, each finding with a fix."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from telemetry_stack.engines.base import Engine
from telemetry_stack.engines.detect import candidates_for, connect_to, detect, probe_candidates
from telemetry_stack.errors import EngineUnavailable, TelemetryError
from telemetry_stack.hostports import port_in_use
from telemetry_stack.planning import is_ours
from telemetry_stack.results import Check, DoctorReport
from telemetry_stack.services import PUBLISHED_PORTS
from telemetry_stack.settings import Settings
from telemetry_stack.stack import MANAGED_LABEL, PROJECT_LABEL, enabled, resource_names


def engine_checks(env: Mapping[str, str] = os.environ) -> list[Check]:
    """Every place an engine may live that is configured or present, and what answers there."""
    home = Path(env.get("HOME") or Path.home())
    checks = []
    for candidate, result in probe_candidates(candidates_for(None, env, home)):
        if not result.ok:
            if result.error != "no such socket" or candidate.source in ("DOCKER_HOST", "CONTAINER_HOST"):
                checks.append(
                    Check(
                        "warn",
                        candidate.source,
                        f"{candidate.url}: {result.error}",
                        "Start that engine, or unset the variable pointing at it.",
                    )
                )
            continue
        try:
            engine = connect_to(candidate)
            try:
                version, rootless = engine.known_version or engine.version(), engine.rootless()
            finally:
                engine.close()
            checks.append(
                Check(
                    "ok",
                    f"{candidate.engine} engine",
                    f"{candidate.url} ({candidate.source}), version {version}, {'rootless' if rootless else 'rootful'}",
                )
            )
        except Exception as exc:  # an engine that pings but fails the SDK is exactly what doctor should show
            checks.append(
                Check(
                    "fail",
                    f"{candidate.engine} engine",
                    f"{candidate.url} answers ping but not the SDK: {exc}",
                    "Check the engine's version (Docker API >= 1.41, Podman >= 4).",
                )
            )
    if not any(c.status == "ok" for c in checks):
        checks.append(
            Check(
                "fail",
                "engines",
                "no Docker or Podman engine answered",
                "Start Docker (or Docker Desktop / colima), or `systemctl --user start podman.socket`.",
            )
        )
    return checks


def run_checks(settings: Settings) -> DoctorReport:
    checks = engine_checks()
    try:
        chosen = detect(settings.engine)
        why = "requested with --container" if settings.engine else "first engine that answered (Docker before Podman)"
        checks.append(Check("ok", "engine choice", f"{chosen.engine} at {chosen.url}: {why}"))
    except EngineUnavailable as exc:
        checks.append(Check("fail", "engine choice", exc.message, exc.hint or ""))
        return DoctorReport(checks)

    engine = connect_to(chosen)
    try:
        checks += _stack_checks(engine, settings)
    except TelemetryError as exc:
        checks.append(Check("fail", "engine", exc.message, exc.hint or ""))
    except Exception as exc:  # lost connection, refused request: a finding, not a traceback
        translated = engine.translate_error(exc)
        checks.append(Check("fail", "engine", translated.message if translated else str(exc), "Check the engine."))
    finally:
        engine.close()
    checks.append(selinux_check())
    return DoctorReport(checks)


def _stack_checks(engine: Engine, settings: Settings) -> list[Check]:
    checks = []
    # Ports held by any llama-telemetry container (this project or another) are named as such.
    held = {b.host_port: info for info in engine.containers({MANAGED_LABEL: "true"}) for b in info.ports}
    if settings.ports_auto:
        checks.append(Check("ok", "ports", "--ports auto: `up` keeps the stack's ports or picks free ones"))
    wanted = [d.name for d in enabled(settings)]
    for p in PUBLISHED_PORTS:
        if p.service not in wanted:
            continue
        port = settings.ports[p.key]
        if settings.ports_auto and p.key not in settings.fixed_ports:
            continue
        if port in held:
            info = held[port]
            checks.append(
                Check(
                    "ok",
                    f"port {port} ({p.key})",
                    f"held by our container {info.name} (project {info.labels.get(PROJECT_LABEL)})",
                )
            )
        elif port_in_use(settings.bind, port):
            checks.append(
                Check(
                    "fail",
                    f"port {port} ({p.key})",
                    f"taken by another program on {settings.bind}",
                    f"Free it, or use --port {p.key}=N (or --ports auto).",
                )
            )
        else:
            checks.append(Check("ok", f"port {port} ({p.key})", "free"))
    for service in wanted:  # the images and volumes `up` would use; nothing needs rendering for that
        ref = settings.images[service]
        if engine.image_present(ref):
            checks.append(Check("ok", f"image {service}", f"{ref} is present"))
        elif settings.pull == "never":
            checks.append(
                Check(
                    "fail",
                    f"image {service}",
                    f"{ref} is missing and --pull never is set",
                    f"`{engine.name} pull {ref}` or `{engine.name} load` it first.",
                )
            )
        else:
            checks.append(
                Check(
                    "info",
                    f"image {service}",
                    f"{ref} is not present; `up` will pull it",
                    "Without registry access, load it first or point --image at a local image.",
                )
            )
    volumes = resource_names(settings.project)[2]
    for name in (volumes[service] for service in wanted if service in volumes):
        volume = engine.volume(name)
        if volume is None:
            checks.append(Check("ok", f"volume {name}", "absent (created by `up`)"))
        elif is_ours(volume.labels, settings.project):
            checks.append(Check("ok", f"volume {name}", "present, ours (data kept across `down`)"))
        else:
            checks.append(
                Check(
                    "fail",
                    f"volume {name}",
                    "exists but was not created by llama-telemetry",
                    f"Remove it (`{engine.name} volume rm {name}`) or use --project NAME.",
                )
            )
    return checks


def selinux_check(enforce_file: Path = Path("/sys/fs/selinux/enforce")) -> Check:
    try:
        enforcing = enforce_file.read_text().strip() == "1"
    except OSError:
        return Check("ok", "SELinux", "not enabled")
    state = "enforcing" if enforcing else "permissive"
    return Check("ok", "SELinux", f"{state}; fine: configs are copied into the containers, not bind-mounted")
