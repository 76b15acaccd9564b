"""The engine session: detect and connect, translate SDK errors, and run independent engine calls at once."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from telemetry_stack.engines.base import Engine
from telemetry_stack.errors import EngineUnavailable, TelemetryError

# The SDKs keep 10 pooled connections per client; more concurrent calls would open and drop extra ones.
MAX_CONCURRENT_CALLS = 8

K = TypeVar("K")
V = TypeVar("V")


@contextlib.contextmanager
def open_engine(requested: str | None, announce: Callable[[str], None]) -> Iterator[Engine]:
    """Detect and connect, announce the choice, and turn SDK/connection errors into one-line errors."""
    from telemetry_stack.engines.detect import connect

    engine = None
    try:
        engine = connect(requested)
        version = engine.known_version or engine.version()
        announce(f"Using {engine.name} {version} at {engine.url} ({engine.source}).")
        yield engine
    except TelemetryError:
        raise
    except Exception as exc:  # SDK exceptions are translated by the backend that raised them
        translated = engine.translate_error(exc) if engine else None
        if translated is None and engine is None:
            translated = EngineUnavailable(f"Could not connect to the {requested or 'container'} engine: {exc}")
        if translated is None:
            raise
        raise translated from exc
    finally:
        if engine is not None:
            engine.close()


def run_concurrently(tasks: Mapping[K, Callable[[], V]]) -> dict[K, V]:
    """Run independent engine calls at once (at most MAX_CONCURRENT_CALLS); the first failure is raised."""
    with ThreadPoolExecutor(max_workers=min(len(tasks), MAX_CONCURRENT_CALLS), thread_name_prefix="engine") as pool:
        futures = {key: pool.submit(task) for key, task in tasks.items()}
        results, failures = {}, []
        for key, future in futures.items():
            try:
                results[key] = future.result()
            except Exception as exc:
                failures.append(exc)
    if failures:
        raise failures[0]
    return results
