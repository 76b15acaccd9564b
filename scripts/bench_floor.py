#!/usr/bin/env python3
"""The benchmark's floor as a program of its own: the containers `llama-telemetry up` would create, driven
straight through the engine SDK (the product's thin backend over docker-py or podman-py) and nothing else:
no CLI framework, settings, rendering, detection, locking, checks or output.

scripts/bench.py writes a pickled job to stdin and times this process from spawn to exit, exactly as it
times the CLI, so both pay an interpreter start and the SDK import and the ratio shows what the tool adds.
It imports as little as it can for the same reason.

    up:   create the network; then for every container at once: create it, copy the rendered files in,
          start it and poll its health URL every 0.1 s until it answers. Prints the container ids.
    down: stop and remove the given containers (all at once), then remove the network.
"""

import pickle
import sys
import threading
import time

from telemetry_stack.health import probe

POLL_INTERVAL = 0.1  # the floor's polling, as issue 5 defines it


def connect(job: dict):
    if job["engine"] == "docker":
        from telemetry_stack.engines.docker_engine import DockerEngine

        return DockerEngine(job["url"], job["api_version"])
    from telemetry_stack.engines.podman_engine import PodmanEngine

    return PodmanEngine(job["url"])


def for_each_at_once(task, items) -> None:
    """task(item) for every item on its own thread; the first failure is raised once all have ended."""
    failures = []

    def run(item) -> None:
        try:
            task(item)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def up(engine, job: dict) -> None:
    deadline = time.monotonic() + job["timeout"]
    output_lock = threading.Lock()
    engine.create_network(job["network"], job["labels"])

    def service_up(service: tuple) -> None:
        spec, archive, health_url = service
        container_id = engine.create_container(spec)
        with output_lock:  # one whole line per id: print() from several threads may interleave
            sys.stdout.write(container_id + "\n")
            sys.stdout.flush()
        if archive:
            engine.put_archive(container_id, "/", archive)
        engine.start(container_id)
        while True:
            attempt = time.monotonic()
            if probe(health_url):
                return
            if attempt > deadline:
                raise TimeoutError(f"{spec.name}: {health_url} did not answer within {job['timeout']:g} s")
            time.sleep(max(0.0, POLL_INTERVAL - (time.monotonic() - attempt)))

    for_each_at_once(service_up, job["services"])


def down(engine, job: dict) -> None:
    def stop_and_remove(container_id: str) -> None:
        engine.stop(container_id, job["stop_timeout"])
        engine.remove_container(container_id)

    for_each_at_once(stop_and_remove, job["containers"])
    engine.remove_network(job["network"])


def main() -> int:
    job = pickle.load(sys.stdin.buffer)
    engine = connect(job)
    try:
        (up if job["action"] == "up" else down)(engine, job)
    except Exception as exc:
        print(f"floor {job['action']} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
