"""`llama-telemetry doctor`: what a user checks when something is wrong, each finding with a fix."""

from __future__ import annotations

import os
from pathlib import Path

from telemetry_stack.deploy import is_ours, port_in_use
from telemetry_stack.engines.detect import Candidate, connect_to, detect, docker_candidates, ping, podman_candidates
from telemetry_stack.errors import EngineUnavailable
from telemetry_stack.settings import PUBLISHED_PORTS, Settings
from telemetry_stack.stack import build_stack, project_labels


def _check(status: str, title: str, detail: str, fix: str = "") -> dict:
    return {"status": status, "title": title, "detail": detail, "fix": fix}


def engine_checks(env=os.environ) -> list[dict]:
    home = Path(env.get("HOME") or Path.home())
    checks = []
    seen = set()
    for candidate in docker_candidates(env, home) + podman_candidates(env, home):
        if candidate.url in seen:
            continue
        seen.add(candidate.url)
        result = ping(candidate.url)
        if not result.ok:
            if result.error != "no such socket" or candidate.source in ("DOCKER_HOST", "CONTAINER_HOST"):
                checks.append(_check("warn", f"{candidate.source}", f"{candidate.url}: {result.error}",
                                     "Start that engine, or unset the variable pointing at it."))
            continue
        kind = "podman" if result.libpod else candidate.engine
        try:
            engine = connect_to(Candidate(kind, candidate.url, candidate.source))
            try:
                version, rootless = engine.version(), engine.rootless()
            finally:
                engine.close()
            checks.append(_check("ok", f"{kind} engine", f"{candidate.url} ({candidate.source}), version {version}, "
                                 f"{'rootless' if rootless else 'rootful'}"))
        except Exception as exc:  # an engine that pings but fails the SDK is exactly what doctor should show
            checks.append(_check("fail", f"{kind} engine", f"{candidate.url} answers ping but not the SDK: {exc}",
                                 "Check the engine's version (Docker API >= 1.41, Podman >= 4)."))
    if not any(c["status"] == "ok" for c in checks):
        checks.append(_check("fail", "engines", "no Docker or Podman engine answered",
                             "Start Docker (or Docker Desktop / colima), or `systemctl --user start podman.socket`."))
    return checks


def run_checks(settings: Settings) -> dict:
    checks = engine_checks()
    try:
        chosen = detect(settings.engine)
        why = "requested with --container" if settings.engine else "first engine that answered (Docker before Podman)"
        checks.append(_check("ok", "engine choice", f"{chosen.engine} at {chosen.url}: {why}"))
    except EngineUnavailable as exc:
        checks.append(_check("fail", "engine choice", exc.message, exc.hint or ""))
        return _report(checks)

    engine = connect_to(chosen)
    try:
        stack = build_stack(settings)
        ours = engine.containers(project_labels(settings.project))
        held = {b.host_port: info.name for info in ours for b in info.ports}
        for p in PUBLISHED_PORTS:
            port = settings.ports[p.key]
            if port in held:
                checks.append(_check("ok", f"port {port} ({p.key})", f"held by our container {held[port]}"))
            elif port_in_use(settings.bind, port):
                checks.append(_check("fail", f"port {port} ({p.key})", f"taken by another program on {settings.bind}",
                                     f"Free it, or use --port {p.key}=N (or --ports auto)."))
            else:
                checks.append(_check("ok", f"port {port} ({p.key})", "free"))
        for service in stack.services:
            ref = service.container.image
            if engine.image_present(ref):
                checks.append(_check("ok", f"image {service.name}", f"{ref} is present"))
            elif settings.pull == "never":
                checks.append(_check("fail", f"image {service.name}", f"{ref} is missing and --pull never is set",
                                     f"`{engine.name} pull {ref}` or `{engine.name} load` it first."))
            else:
                checks.append(_check("info", f"image {service.name}", f"{ref} is not present; `up` will pull it",
                                     "Without registry access, load it first or point --image at a local image."))
        for name in stack.volumes:
            volume = engine.volume(name)
            if volume is None:
                checks.append(_check("ok", f"volume {name}", "absent (created by `up`)"))
            elif is_ours(volume.labels, settings.project):
                checks.append(_check("ok", f"volume {name}", "present, ours (data kept across `down`)"))
            else:
                checks.append(_check("fail", f"volume {name}", "exists but was not created by llama-telemetry",
                                     f"Remove it (`{engine.name} volume rm {name}`) or use --project NAME."))
    finally:
        engine.close()
    checks.append(selinux_check())
    return _report(checks)


def selinux_check(enforce_file: Path = Path("/sys/fs/selinux/enforce")) -> dict:
    try:
        enforcing = enforce_file.read_text().strip() == "1"
    except OSError:
        return _check("ok", "SELinux", "not enabled")
    state = "enforcing" if enforcing else "permissive"
    return _check("ok", "SELinux", f"{state}; fine: configs are copied into the containers, not bind-mounted")


def _report(checks: list[dict]) -> dict:
    return {"ok": not any(c["status"] == "fail" for c in checks), "checks": checks}
