"""How `up` polls a service while it waits: the pause between probes (on a fake clock), cancelling, a probe of a
service that accepts but never answers, and the remote-engine cases of which host a published port is reached on."""

from __future__ import annotations

import socket
import threading

import pytest

from telemetry_stack import health


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


class Cancel:
    """The poller's cancel event: wait() lets the fake clock run instead of sleeping."""

    def __init__(self, clock: Clock, limit: int = 1000) -> None:
        self.clock, self.limit = clock, limit
        self.waits: list[float] = []
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, seconds: float) -> bool:
        assert len(self.waits) < self.limit, "the poller never stopped"
        self.waits.append(seconds)
        self.clock.now += seconds
        return self._set


def _poller(monkeypatch, answers, probe_seconds: float = 0.005, start: float = 100.0):
    clock = Clock(start)
    probed: list[str] = []

    def fake_probe(url, timeout, headers):
        probed.append(url)
        clock.now += probe_seconds  # a refused connection takes a few milliseconds
        return answers(clock.now - start)

    monkeypatch.setattr(health, "time", clock)
    monkeypatch.setattr(health, "probe", fake_probe)
    poller = health.Poller(["http://127.0.0.1:9090/-/ready"])
    poller._cancelled = Cancel(clock)
    return poller, probed


def test_the_pause_between_probes_is_the_poll_interval_less_the_time_the_probe_took(monkeypatch):
    poller, probed = _poller(monkeypatch, lambda elapsed: elapsed > 3.5)
    poller._run()
    waits = poller._cancelled.waits
    assert poller.healthy.is_set()
    # 20 ms apart in the first 3 s (a 5 ms probe leaves 15 ms to wait), 100 ms apart after that.
    assert waits[0] == pytest.approx(0.015) and waits[-1] == pytest.approx(0.095)
    assert {round(w, 6) for w in waits} == {0.015, 0.095}
    assert len(probed) == len(waits) + 1


def test_a_probe_slower_than_the_interval_is_followed_by_the_next_at_once(monkeypatch):
    poller, probed = _poller(monkeypatch, lambda elapsed: len(probed) == 3, probe_seconds=0.5)
    poller._run()
    assert poller._cancelled.waits == [0.0, 0.0]


def test_a_cancelled_poller_stops_without_declaring_the_service_healthy(monkeypatch):
    poller, probed = _poller(monkeypatch, lambda elapsed: False)
    poller.cancel()
    poller._run()
    assert probed == [] and not poller.healthy.is_set()


def test_the_poller_thread_never_keeps_the_cli_from_exiting():
    # Ctrl-C or an error while waiting leaves pollers behind; they must not hold the process open.
    assert health.Poller(["http://127.0.0.1:1/"])._thread.daemon is True


def test_a_service_that_accepts_but_never_answers_is_not_healthy_after_the_timeout():
    silent = socket.create_server(("127.0.0.1", 0))  # connections wait in the backlog, unanswered
    verdict: list[bool] = []
    asking = threading.Thread(
        target=lambda: verdict.append(health.probe(f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=0.1)),
        daemon=True,
    )
    try:
        asking.start()
        asking.join(10)  # a safety net only: the probe gives up after its 0.1 s timeout
        assert not asking.is_alive(), "the probe waited for an answer that never comes"
        assert verdict == [False]
    finally:
        silent.close()


@pytest.mark.parametrize(
    "host_ip, engine_url, expected",
    [
        ("127.0.0.1", "http://build-box:2375", "build-box"),
        ("127.0.0.1", "https://build-box:2376", "build-box"),
        ("192.168.1.5", "tcp://127.0.0.1:2375", "192.168.1.5"),  # a local engine over TCP: the bound address
        ("192.168.1.5", "tcp://[::1]:2375", "192.168.1.5"),
        ("192.168.1.5", "tcp://localhost:2375", "192.168.1.5"),
        ("192.168.1.5", "npipe:////./pipe/docker_engine", "192.168.1.5"),
    ],
)
def test_a_remote_engine_over_http_publishes_on_its_own_machine_a_local_one_on_the_bound_address(
    host_ip, engine_url, expected
):
    assert health.reachable_host(host_ip, engine_url) == expected
