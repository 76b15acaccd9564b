"""What the user asked for: option values validated into one immutable Settings object.

Everything here is pure; a bad value raises UsageError with a message that says how to fix it.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telemetry_stack.engines.base import HOST_ALIAS
from telemetry_stack.errors import UsageError
from telemetry_stack.services import IMAGES, PUBLISHED_PORTS, SERVICES

DEFAULT_IMAGES: Mapping[str, str] = {service: IMAGES[service].ref for service in SERVICES}
PORT_KEYS = tuple(p.key for p in PUBLISHED_PORTS)
DEFAULT_PORTS: Mapping[str, int] = {p.key: p.container_port for p in PUBLISHED_PORTS}

ENGINES = ("docker", "podman")
PULL_POLICIES = ("missing", "always", "never")
DEFAULT_PROJECT = "default"
DEFAULT_PASSWORD = "admin"
_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class Settings:
    engine: str | None = None  # None: auto-detect
    project: str = DEFAULT_PROJECT
    images: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_IMAGES))
    ports: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    ports_auto: bool = False  # pick free host ports (keeping the ones a running stack already has)
    fixed_ports: tuple[str, ...] = ()  # port keys the user named: --ports auto leaves these alone
    bind: str = "127.0.0.1"
    pull: str = "missing"
    timeout: float = 120.0
    grafana_password: str = field(default=DEFAULT_PASSWORD, repr=False)
    redact_content: bool = False
    logs: bool = False  # the fifth service, Loki, and the collector's logs pipeline
    # OGX's own Prometheus endpoint for our Prometheus to scrape, as HOST:PORT (None: none).
    ogx_metrics: str | None = None
    # Where each value came from ("flag", "env NAME", "file PATH", "default"), for `llama-telemetry config`.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ogx_metrics_on_host(self) -> bool:
        """The OGX endpoint is on the engine's host (--ogx-metrics PORT), which the containers reach by HOST_ALIAS."""
        return self.ogx_metrics is not None and self.ogx_metrics.startswith(HOST_ALIAS + ":")

    @property
    def binds_beyond_loopback(self) -> bool:
        return not ipaddress.ip_address(self.bind).is_loopback


# ------------------------------------------------------------------------------------ config file

CONFIG_FILE_NAME = "llama-telemetry.yaml"
CONFIG_KEYS = (
    "container",
    "project",
    "images",
    "ports",
    "bind",
    "pull",
    "timeout",
    "grafana_password",
    "redact_content",
    "logs",
    "ogx_metrics",
)


def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "llama-telemetry" / "config.yaml"


def find_config_file(explicit: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """--config FILE, else ./llama-telemetry.yaml, else the user config file; None if there is none."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise UsageError(
                f"--config {explicit}: no such file.", "Name an existing YAML file, or leave --config out."
            )
        return path
    for path in (Path.cwd() / CONFIG_FILE_NAME, user_config_path(env)):
        if path.is_file():
            return path
    return None


def load_config_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise UsageError(f"Cannot read config file {path}: {exc.strerror or exc}.") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise UsageError(
            f"Config file {path} is not valid YAML{line}.", "Fix the file or pass another with --config."
        ) from None
    if not isinstance(data, dict):
        raise UsageError(
            f"Config file {path} must be a YAML mapping of settings.", f"Known keys: {', '.join(CONFIG_KEYS)}."
        )
    unknown = sorted(set(map(str, data)) - set(CONFIG_KEYS))
    if unknown:
        raise UsageError(f"Config file {path}: unknown key {unknown[0]!r}.", f"Known keys: {', '.join(CONFIG_KEYS)}.")
    return data


def _file_assignments(data: Mapping[str, Any], key: str, path: Path | None) -> list[str]:
    """images/ports from a config file: a mapping (or, for ports, the word auto) -> KEY=VALUE strings."""
    value = data.get(key)
    if value is None or value == "auto":
        return []
    if not isinstance(value, dict):
        raise UsageError(f"Config file {path}: {key} must be a mapping like {{grafana: ...}}.")
    return [f"{k}={v}" for k, v in value.items()]


# ------------------------------------------------------------------------------------- validation


def parse_assignments(values: Iterable[str], allowed: Iterable[str], option: str) -> dict[str, str]:
    """Parse repeated `KEY=VALUE` option values (also accepts several separated by commas or spaces)."""
    allowed = tuple(allowed)
    parsed: dict[str, str] = {}
    for raw in values:
        for item in filter(None, (part.strip() for part in re.split(r"[,\s]+", raw))):
            key, sep, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or not key or not value:
                raise UsageError(f"{option} expects KEY=VALUE, got {item!r}.", f"KEY is one of: {', '.join(allowed)}.")
            if key not in allowed:
                raise UsageError(f"{option}: unknown name {key!r}.", f"Use one of: {', '.join(allowed)}.")
            parsed[key] = value
    return parsed


def _port_number(key: str, value: str) -> int:
    if not str(value).isdigit() or not 1 <= int(value) <= 65535:
        raise UsageError(f"--port {key}={value}: a port is a whole number from 1 to 65535.")
    return int(value)


def _image_ref(service: str, ref: str) -> str:
    if not ref or any(ch.isspace() or not ch.isprintable() for ch in ref) or ref.startswith(("-", ":", "@")):
        raise UsageError(
            f"--image {service}={ref!r} is not an image reference.", f"Use e.g. {service}={IMAGES[service].ref}."
        )
    return ref


_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)


def ogx_metrics_target(value: str, option: str = "--ogx-metrics") -> str:
    """PORT (OGX on this machine) or HOST:PORT (as the containers reach it) -> HOST:PORT."""
    text = str(value).strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = HOST_ALIAS, text
    hint = "Give the port OGX serves its metrics on (OGX_METRICS_PORT, 9464 by default), or HOST:PORT."
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(f"{option} {value!r}: the port must be a whole number from 1 to 65535.", hint)
    if not _HOST_NAME.match(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise UsageError(f"{option} {value!r}: {host!r} is not a host name or IPv4 address.", hint) from None
    return f"{host}:{int(port)}"


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def build_settings(
    *,
    engine: str | None = None,
    project: str | None = None,
    images: Iterable[str] | None = (),
    ports: Iterable[str] | None = (),
    ports_auto: bool | None = None,
    bind: str | None = None,
    pull: str | None = None,
    timeout: float | None = None,
    grafana_password: str | None = None,
    redact_content: bool | None = None,
    logs: bool | None = None,
    ogx_metrics: str | None = None,
    config_file: Path | None = None,
    sources: Mapping[str, str] | None = None,
) -> Settings:
    """Validate option values into Settings. Precedence: given values (flags or environment, as `sources`
    says) > the config file > defaults; images and ports merge per service."""
    images, ports = list(images or ()), list(ports or ())
    given_sources = dict(sources or {})
    data = load_config_file(config_file) if config_file else {}
    final_sources: dict[str, str] = {}

    def pick(name: str, value: Any, config_key: str) -> Any:
        if value is not None and value != ():
            final_sources[name] = given_sources.get(name, "flag")
            return value
        if data.get(config_key) is not None:
            final_sources[name] = f"file {config_file}"
            return data[config_key]
        final_sources[name] = "default"
        return None

    def where(name: str, option: str) -> str:
        """Name a bad value the way the user gave it: the flag, the variable, or the config file key."""
        source = final_sources.get(name, "flag")
        if source.startswith("env "):
            return source[4:]
        if source.startswith("file "):
            return f"{option.lstrip('-').replace('-', '_')} in {source[5:]}"
        return option

    defaults = Settings()
    engine = pick("engine", engine or None, "container")
    if engine is not None and engine not in ENGINES:
        raise UsageError(
            f"{where('engine', '--container')} {engine!r} is not supported.", f"Use one of: {', '.join(ENGINES)}."
        )

    project = str(pick("project", project, "project") or DEFAULT_PROJECT)
    if not _PROJECT_NAME.match(project):
        raise UsageError(
            f"{where('project', '--project')} {project!r} is not a valid name.",
            "Use lowercase letters, digits, '-' or '_' (at most 40, starting with a letter or digit).",
        )

    # images and ports merge per service: each key remembers the source that set it ("images.grafana").
    file_source, given_images, given_ports = (
        f"file {config_file}",
        given_sources.get("images", "flag"),
        given_sources.get("ports", "flag"),
    )
    image_map = dict(defaults.images)
    for layer, source in ((_file_assignments(data, "images", config_file), file_source), (images, given_images)):
        for svc, ref in parse_assignments(layer, SERVICES, "--image").items():
            image_map[svc] = _image_ref(svc, ref)
            final_sources[f"images.{svc}"] = source
    final_sources["images"] = (
        given_sources.get("images", "flag") if images else (f"file {config_file}" if data.get("images") else "default")
    )

    port_map = dict(defaults.ports)
    named_ports: dict[
        str, None
    ] = {}  # port keys named explicitly (flag, env or file), in order: fixed under --ports auto
    for layer, source in ((_file_assignments(data, "ports", config_file), file_source), (ports, given_ports)):
        assigned = parse_assignments(layer, PORT_KEYS, "--port")
        named_ports.update(dict.fromkeys(assigned))
        port_map.update({key: _port_number(key, v) for key, v in assigned.items()})
        final_sources.update({f"ports.{key}": source for key in assigned})
    seen: dict[int, str] = {}
    for key, number in port_map.items():
        if number in seen:
            raise UsageError(
                f"--port: {seen[number]} and {key} both use host port {number}.", "Give each a different port."
            )
        seen[number] = key
    final_sources["ports"] = (
        given_sources.get("ports", "flag") if ports else (f"file {config_file}" if data.get("ports") else "default")
    )
    auto = pick("ports_auto", ports_auto, "ports")
    ports_auto = auto is True or auto == "auto"
    fixed_ports = tuple(named_ports)

    bind = str(pick("bind", bind, "bind") or defaults.bind)
    try:
        ipaddress.ip_address(bind)
    except ValueError:
        raise UsageError(
            f"{where('bind', '--bind')} {bind!r} is not an IP address.", "Use e.g. 127.0.0.1 (default) or 0.0.0.0."
        ) from None

    pull = str(pick("pull", pull, "pull") or defaults.pull)
    if pull not in PULL_POLICIES:
        raise UsageError(
            f"{where('pull', '--pull')} {pull!r} is not a pull policy.", f"Use one of: {', '.join(PULL_POLICIES)}."
        )

    raw_timeout = pick("timeout", timeout, "timeout")
    try:
        timeout = defaults.timeout if raw_timeout is None else float(raw_timeout)
    except (TypeError, ValueError):
        raise UsageError(f"{where('timeout', '--timeout')} {raw_timeout!r} is not a number of seconds.") from None
    if not timeout > 0:
        raise UsageError(f"{where('timeout', '--timeout')} {timeout:g} must be a positive number of seconds.")

    password = pick("grafana_password", grafana_password, "grafana_password")
    password = DEFAULT_PASSWORD if password is None else str(password)
    if not password:
        raise UsageError(f"{where('grafana_password', '--grafana-password')} must not be empty.")

    redact = pick("redact_content", redact_content, "redact_content")
    with_logs = pick("logs", logs, "logs")

    raw_ogx = pick("ogx_metrics", ogx_metrics, "ogx_metrics")
    ogx_target = None if raw_ogx in (None, "") else ogx_metrics_target(raw_ogx, where("ogx_metrics", "--ogx-metrics"))

    settings = Settings(
        engine=engine,
        project=project,
        images=image_map,
        ports=port_map,
        ports_auto=ports_auto,
        fixed_ports=fixed_ports,
        bind=bind,
        pull=pull,
        timeout=timeout,
        grafana_password=password,
        redact_content=_flag(redact) if redact is not None else False,
        logs=_flag(with_logs) if with_logs is not None else False,
        ogx_metrics=ogx_target,
        sources=final_sources,
    )
    if settings.binds_beyond_loopback and password == DEFAULT_PASSWORD:
        raise UsageError(
            f"--bind {bind} would expose Grafana beyond this machine with the default password 'admin'.",
            "Set --grafana-password (or LLAMA_TELEMETRY_GRAFANA_PASSWORD, or grafana_password in the config file), "
            "or keep the default bind 127.0.0.1.",
        )
    return settings


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(setting, effective value, source) rows for `llama-telemetry config`; the password is masked."""
    src = settings.sources
    rows = [
        ("container", settings.engine or "auto-detect", src.get("engine", "default")),
        ("project", settings.project, src.get("project", "default")),
        ("bind", settings.bind, src.get("bind", "default")),
        ("pull", settings.pull, src.get("pull", "default")),
        ("timeout", f"{settings.timeout:g}", src.get("timeout", "default")),
        (
            "grafana_password",
            "(default: admin)" if settings.grafana_password == DEFAULT_PASSWORD else "(set, hidden)",
            src.get("grafana_password", "default"),
        ),
        ("redact_content", str(settings.redact_content).lower(), src.get("redact_content", "default")),
        ("logs", str(settings.logs).lower(), src.get("logs", "default")),
        ("ogx_metrics", settings.ogx_metrics or "(none)", src.get("ogx_metrics", "default")),
    ]
    if settings.ports_auto:
        rows.append(("ports", "auto", src.get("ports_auto", "default")))
    rows += [(f"ports.{k}", str(v), src.get(f"ports.{k}", "default")) for k, v in settings.ports.items()]
    rows += [(f"images.{k}", v, src.get(f"images.{k}", "default")) for k, v in settings.images.items()]
    return rows
