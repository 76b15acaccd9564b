"""Host ports: is one free, are the ones `up` is about to claim free, and `--ports auto`."""

from __future__ import annotations

import errno
import ipaddress
import socket
import sys
from collections.abc import Mapping

from telemetry_stack.engines.base import ContainerInfo
from telemetry_stack.errors import ConflictError, UsageError
from telemetry_stack.planning import KEEP, Plan
from telemetry_stack.services import PUBLISHED_PORTS
from telemetry_stack.settings import Settings
from telemetry_stack.stack import Stack


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
                    raise UsageError(
                        f"--bind {host_ip} is not an address of this machine.",
                        "Use 127.0.0.1 (default), 0.0.0.0 or one of this machine's addresses.",
                    ) from None
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
                key = next(
                    p.key
                    for p in PUBLISHED_PORTS
                    if p.service == service.name and p.container_port == binding.container_port
                )
                raise ConflictError(
                    f"Port {binding.host_port} on {binding.host_ip} ({service.name}) is already in use by another program; nothing was created.",
                    f"Free it, or choose another host port with --port {key}=N.",
                )


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
            raise UsageError(
                f"--bind {host_ip}: {exc.strerror}; --ports auto picks ports free on this machine.",
                "Bind to an address of this machine (e.g. 127.0.0.1 or 0.0.0.0).",
            ) from None
        return sock.getsockname()[1]
