#!/usr/bin/env python3
"""The benchmark's floor: the containers `llama-telemetry up` would create, driven straight through the
engine SDK (the product's thin backend over docker-py or podman-py) and nothing else: no CLI framework,
settings, rendering, detection, locking, checks or output.

scripts/bench.py runs it twice per run: as a program of its own (a pickled job on stdin, timed from spawn
to exit exactly as the CLI is timed, so both pay an interpreter's start and the SDK's import; this file
imports as little as it can for that reason), and through up()/down() inside its own process.

    up:   create the network; then for every container at once: create it, copy the rendered files in,
          start it and poll its health URL, then its readiness URLs (as `up` does), every 0.1 s until
          they answer. Prints the container ids.
    down: stop and remove the given containers (all at once), then remove the network.
"""

import pickle
import sys
import threading
import time

from telemetry_stack.health import probe

POLL_INTERVAL = 0.1  # the floor's polling, as issue 5 defines it


def for_each_at_once(task, items, cancel: threading.Event) -> None:
    """task(item) for every item on its own thread. A failure or an interrupt sets cancel (so pollers stop)
    and is raised once every thread has ended: engine calls in flight finish before anyone cleans up."""
    failures = []

    def run(item) -> None:
        try:
            task(item)
        except BaseException as exc:  # reported by the calling thread
            failures.append(exc)
            cancel.set()

    threads = [threading.Thread(target=run, args=(item,), daemon=True) for item in items]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:
        cancel.set()
        for thread in threads:
            thread.join()
        raise
    if failures:
        raise failures[0]


def up(engine, job: dict, cancel: threading.Event, on_created=lambda container_id: None) -> None:
    deadline = time.monotonic() + job["timeout"]
    engine.create_network(job["network"], job["labels"])

    def service_up(service: tuple) -> None:
        spec, archive, urls, headers = service
        container_id = engine.create_container(spec)
        on_created(container_id)
        if archive:
            engine.put_archive(container_id, "/", archive)
        engine.start(container_id)
        waiting = list(urls)
        while not cancel.is_set():
            attempt = time.monotonic()
            while waiting and probe(waiting[0], headers=headers):
                waiting.pop(0)
            if not waiting:
                return
            if attempt > deadline:
                raise TimeoutError(f"{spec.name}: {waiting[0]} did not answer within {job['timeout']:g} s")
            cancel.wait(max(0.0, POLL_INTERVAL - (time.monotonic() - attempt)))
        raise RuntimeError(f"{spec.name}: cancelled")

    for_each_at_once(service_up, job["services"], cancel)


def down(engine, job: dict, cancel: threading.Event) -> None:
    def stop_and_remove(container_id: str) -> None:
        engine.stop(container_id, job["stop_timeout"])
        engine.remove_container(container_id)

    for_each_at_once(stop_and_remove, job["containers"], cancel)
    engine.remove_network(job["network"])


def main() -> int:
    job = pickle.load(sys.stdin.buffer)
    from telemetry_stack.engines.detect import connect_to

    engine = connect_to(job["candidate"])
    output_lock = threading.Lock()

    def report(container_id: str) -> None:
        with output_lock:  # one whole line per id: print() from several threads may interleave
            sys.stdout.write(container_id + "\n")
            sys.stdout.flush()

    try:
        if job["action"] == "up":
            up(engine, job, threading.Event(), report)
        else:
            down(engine, job, threading.Event())
    except Exception as exc:
        print(f"floor {job['action']} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
