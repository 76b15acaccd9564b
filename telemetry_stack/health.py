"""HTTP health probes against the services' real endpoints, as seen from the host."""

from __future__ import annotations

import base64
import http.client
import ipaddress
import threading
import time
from collections.abc import Mapping, Sequence
from urllib.parse import urlparse

POLL_INTERVAL = 0.1  # seconds between probes of one service: readiness is noticed within ~100 ms
# Most services answer within their first seconds, so those are polled tighter. A probe of a service
# that is not listening yet is refused (or closed by the engine's port proxy) at once, so this is light.
FAST_POLL_INTERVAL = 0.02
FAST_POLL_PERIOD = 3.0
PROBE_TIMEOUT = 1.0


def poll_interval(elapsed: float) -> float:
    """Seconds to wait between probes, given how long a service has been polled."""
    return FAST_POLL_INTERVAL if elapsed < FAST_POLL_PERIOD else POLL_INTERVAL


def basic_auth(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def probe(url: str, timeout: float = PROBE_TIMEOUT, headers: Mapping[str, str] | None = None) -> bool:
    """True when GET url answers 200. Never raises for network trouble."""
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=timeout)
    try:
        conn.request("GET", parsed.path or "/", headers={"Connection": "close", **(headers or {})})
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def reachable_host(host_ip: str, engine_url: str = "") -> str:
    """The address to reach a published port from here: the remote engine's host, or the bound IP."""
    engine = urlparse(engine_url)
    if engine.scheme in ("tcp", "ssh", "http", "https") and engine.hostname not in (
        None,
        "localhost",
        "127.0.0.1",
        "::1",
    ):
        return engine.hostname
    if not host_ip or host_ip == "0.0.0.0":
        return "127.0.0.1"
    if ipaddress.ip_address(host_ip).is_unspecified:
        return "::1"
    return host_ip


def http_url(host: str, port: int, path: str = "") -> str:
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{port}{path}"


class Poller:
    """Polls URLs in order (see poll_interval) on a daemon thread until every one has answered 200, or it
    is cancelled. A URL that answered once is not asked again: readiness only moves forward."""

    def __init__(
        self, urls: Sequence[str], changed: threading.Event | None = None, headers: Mapping[str, str] | None = None
    ):
        self.urls = list(urls)
        self.healthy = threading.Event()
        self._headers = dict(headers or {})
        self._cancelled = threading.Event()
        self._changed = changed  # shared with the waiter, so it wakes as soon as any service is ready
        self._thread = threading.Thread(target=self._run, name=f"probe {self.urls[0]}", daemon=True)

    def start(self) -> Poller:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancelled.set()

    def _run(self) -> None:
        first = time.monotonic()
        waiting = list(self.urls)
        while not self._cancelled.is_set():
            started = time.monotonic()
            while waiting and probe(waiting[0], timeout=PROBE_TIMEOUT, headers=self._headers):
                waiting.pop(0)
            if not waiting:
                self.healthy.set()
                if self._changed is not None:
                    self._changed.set()
                return
            self._cancelled.wait(max(0.0, poll_interval(started - first) - (time.monotonic() - started)))
