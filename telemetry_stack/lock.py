"""One `up`/`down` at a time per engine and project on this machine."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator

from telemetry_stack.engines.base import Engine
from telemetry_stack.errors import ConflictError
from telemetry_stack.reporting import Reporter


@contextlib.contextmanager
def project_lock(engine: Engine, project: str, timeout: float, ui: Reporter) -> Iterator[None]:
    """One `up`/`down` at a time per engine and project on this machine: a second one waits, then fails cleanly."""
    lock_dir = os.path.join(tempfile.gettempdir(), f"llama-telemetry-{os.getuid()}")
    os.makedirs(lock_dir, mode=0o700, exist_ok=True)
    key = hashlib.sha256(f"{engine.url}|{project}".encode()).hexdigest()[:16]
    with open(os.path.join(lock_dir, f"{key}.lock"), "w") as handle:
        deadline = time.monotonic() + timeout
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    ui.note(
                        f"Another llama-telemetry command is changing project {project!r}; waiting for it to finish ..."
                    )
                    announced = True
                if time.monotonic() > deadline:
                    raise ConflictError(
                        f"Another llama-telemetry command kept project {project!r} busy for {timeout:g} s.",
                        "Wait for it to finish (or stop it), then run this command again.",
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
