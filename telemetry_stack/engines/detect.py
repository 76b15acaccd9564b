"""Find a container engine that really answers, without importing an SDK until one is chosen.

Candidates come from the places users configure engines (DOCKER_HOST, docker contexts, CONTAINER_HOST)
and the well-known sockets of Docker, Docker Desktop, Colima, Rancher Desktop, rootful and rootless
Podman and `podman machine`. Each is pinged with a short timeout, so a missing engine is reported in
well under a few seconds.
"""

from __future__ import annotations

import glob
import hashlib
import http.client
import json
import os
import shutil
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from telemetry_stack.errors import EngineUnavailable

if TYPE_CHECKING:
    from telemetry_stack.engines.base import Engine

PING_TIMEOUT = 1.0


@dataclass(frozen=True)
class Candidate:
    engine: str  # which SDK would talk to it: docker | podman
    url: str
    source: str  # why we looked there, shown to the user
    version: str = ""  # from the ping's Server header, so no extra /version round trip is needed
    api_version: str = ""  # Docker API version from the ping, for docker-py instead of version="auto"
    tls: bool = False  # DOCKER_TLS_VERIFY/DOCKER_CERT_PATH: docker-py builds the TLS config from the environment


@dataclass(frozen=True)
class PingResult:
    ok: bool
    libpod: bool = False  # the socket is Podman's (also true for Podman's Docker-compatible socket)
    error: str = ""
    version: str = ""
    api_version: str = ""


def _docker_context_host(env: Mapping[str, str], home: Path) -> tuple[str, str] | None:
    """The endpoint of the current docker context (DOCKER_CONTEXT or ~/.docker/config.json), if not default."""
    config_dir = Path(env.get("DOCKER_CONFIG") or home / ".docker")
    name = env.get("DOCKER_CONTEXT")
    if not name:
        try:
            name = json.loads((config_dir / "config.json").read_text()).get("currentContext")
        except (OSError, ValueError):
            return None
    if not name or name == "default":
        return None
    meta = config_dir / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest() / "meta.json"
    try:
        host = json.loads(meta.read_text())["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return host, f"docker context {name!r}"


def docker_candidates(env: Mapping[str, str], home: Path) -> list[Candidate]:
    if env.get("DOCKER_HOST"):
        # Like the docker CLI: DOCKER_HOST overrides contexts and default sockets.
        tls = bool(env.get("DOCKER_TLS_VERIFY") or env.get("DOCKER_CERT_PATH"))
        return [Candidate("docker", env["DOCKER_HOST"], "DOCKER_HOST with TLS" if tls else "DOCKER_HOST", tls=tls)]
    found = []
    context = _docker_context_host(env, home)
    if context:
        found.append(Candidate("docker", *context))
    found += [
        Candidate("docker", "unix:///var/run/docker.sock", "default Docker socket"),
        Candidate("docker", f"unix://{home}/.docker/run/docker.sock", "Docker Desktop socket"),
        Candidate("docker", f"unix://{home}/.docker/desktop/docker.sock", "Docker Desktop socket"),
        Candidate("docker", f"unix://{home}/.colima/default/docker.sock", "Colima socket"),
        Candidate("docker", f"unix://{home}/.rd/docker.sock", "Rancher Desktop socket"),
    ]
    return found


def podman_candidates(env: Mapping[str, str], home: Path) -> list[Candidate]:
    if env.get("CONTAINER_HOST"):
        return [Candidate("podman", env["CONTAINER_HOST"], "CONTAINER_HOST")]
    runtime_dir = env.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    found = [
        Candidate("podman", f"unix://{runtime_dir}/podman/podman.sock", "rootless Podman socket"),
        Candidate("podman", "unix:///run/podman/podman.sock", "rootful Podman socket"),
    ]
    machine_sockets = sorted(
        glob.glob(str(home / ".local/share/containers/podman/machine/*/podman.sock"))
        + glob.glob(str(home / ".local/share/containers/podman/machine/*/*/podman.sock"))
        + glob.glob(os.path.join(env.get("TMPDIR", "/tmp"), "podman", "*-api.sock"))
    )
    found += [Candidate("podman", f"unix://{path}", "podman machine socket") for path in machine_sockets]
    return found


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def ping(url: str, timeout: float = PING_TIMEOUT) -> PingResult:
    """GET /_ping on a unix:// or tcp:// engine URL. Other schemes (ssh, TLS) are left to the SDK."""
    parsed = urlparse(url)
    if parsed.scheme == "unix":
        if not os.path.exists(parsed.path):
            return PingResult(False, error="no such socket")
        conn: http.client.HTTPConnection = _UnixHTTPConnection(parsed.path, timeout)
    elif parsed.scheme in ("tcp", "http"):
        conn = http.client.HTTPConnection(parsed.hostname or "localhost", parsed.port or 2375, timeout=timeout)
    else:
        return PingResult(True)  # ssh:// or https://: the SDK's first call will tell
    try:
        conn.request("GET", "/_ping")
        response = conn.getresponse()
        response.read()
    except PermissionError:
        return PingResult(False, error="permission denied (is your user allowed to use this socket?)")
    except (OSError, http.client.HTTPException) as exc:
        return PingResult(False, error=_reason(exc))
    finally:
        conn.close()
    if response.status != 200:
        return PingResult(False, error=f"answered HTTP {response.status}")
    # "Server: Docker/20.10.24 (linux)" or "Server: Libpod/4.3.1 (linux)"
    server = (response.getheader("Server") or "").split(" ")[0]
    return PingResult(
        True,
        libpod=response.getheader("Libpod-Api-Version") is not None,
        version=server.partition("/")[2],
        api_version=response.getheader("Api-Version") or "",
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing is listening)"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "no answer within 1 s"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _start_hint(requested: str | None) -> str:
    podman_hint = (
        "start Podman's API service: `systemctl --user start podman.socket` (rootless), "
        "`sudo systemctl start podman.socket` (rootful), `podman machine start` (macOS/Windows) "
        "or `podman system service --time=0 &`"
    )
    docker_hint = "start Docker (`sudo systemctl start docker`, or open Docker Desktop / `colima start`)"
    if requested == "podman":
        if shutil.which("podman"):
            return f"Podman is installed but its API service is not running: {podman_hint}."
        return f"Install Podman, then {podman_hint}."
    if requested == "docker":
        return f"To fix: {docker_hint}, or set DOCKER_HOST."
    return f"To fix: {docker_hint}; or {podman_hint}; or point DOCKER_HOST / CONTAINER_HOST at your engine."


def candidates_for(requested: str | None, env: Mapping[str, str], home: Path) -> list[Candidate]:
    if requested == "docker":
        return docker_candidates(env, home)
    if requested == "podman":
        return podman_candidates(env, home)
    return docker_candidates(env, home) + podman_candidates(env, home)


def probe_candidates(candidates: list[Candidate]) -> Iterator[tuple[Candidate, PingResult]]:
    """Ping each distinct place once, in order; an answering one carries the version it reported."""
    seen = set()
    for candidate in candidates:
        if candidate.url in seen:
            continue
        seen.add(candidate.url)
        # A TLS endpoint needs client certificates: the SDK's first call is the real check.
        result = PingResult(True) if candidate.tls else ping(candidate.url)
        if result.ok:
            candidate = replace(candidate, version=result.version, api_version=result.api_version)
            if result.libpod and candidate.engine == "docker":
                # A Docker-compatible socket served by Podman: talk to it with the Podman SDK.
                candidate = replace(candidate, engine="podman", source=f"{candidate.source}, served by Podman")
        yield candidate, result


def detect(requested: str | None, env: Mapping[str, str] | None = None, home: Path | None = None) -> Candidate:
    """Return the first candidate that answers; Docker before Podman when both do (auto-detection)."""
    env = os.environ if env is None else env
    home = home or Path(env.get("HOME") or Path.home())
    tried = []
    for candidate, result in probe_candidates(candidates_for(requested, env, home)):
        if result.ok:
            return candidate
        tried.append(f"{candidate.url} ({candidate.source}): {result.error}")
    what = {"docker": "Docker", "podman": "Podman"}.get(requested or "", "No container engine")
    prefix = f"{what} did not answer" if requested else "No container engine answered"
    raise EngineUnavailable(f"{prefix}; tried {'; '.join(tried)}.", _start_hint(requested))


def connect(requested: str | None):
    """Detect and return a connected Engine (the SDK is imported only here)."""
    return connect_to(detect(requested))


def connect_to(candidate: Candidate) -> Engine:
    engine: Engine  # mypy checks both backends against the Engine protocol here
    if candidate.engine == "docker":
        from telemetry_stack.engines.docker_engine import DockerEngine

        engine = DockerEngine(candidate.url, candidate.api_version, candidate.tls)
    else:
        from telemetry_stack.engines.podman_engine import PodmanEngine

        engine = PodmanEngine(candidate.url)
    engine.source = candidate.source
    engine.known_version = candidate.version
    return engine
