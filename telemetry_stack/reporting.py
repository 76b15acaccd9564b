"""What the deployer and verify may tell the user while they work; `output.UI` is the terminal's reporter.

Kept apart from `output` so the orchestration modules depend on this small protocol, not on rich.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from telemetry_stack.engines.base import PullEvent

# update(service, state) during the health wait
ProgressUpdate = Callable[[str, str], None]


class Reporter(Protocol):
    def info(self, message: str) -> None:
        """A result line (stdout, or stderr under --json)."""

    def note(self, message: str) -> None:
        """Context for humans (engine choice, waiting notices): never on stdout's data."""

    def warn(self, message: str) -> None: ...

    def pull_progress(self, ref: str, events: Iterator[PullEvent]) -> None:
        """Consume one image pull's events, showing progress."""

    def wait_progress(self, services: list[str]) -> AbstractContextManager[ProgressUpdate]:
        """Show the health wait; yields update(service, state)."""
