"""Errors the CLI turns into one-line messages and exit codes (never tracebacks)."""

from __future__ import annotations

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNHEALTHY = 3


class TelemetryError(Exception):
    """An expected failure: the message says what is wrong, the hint how to fix it."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, hint: str | None = None, details: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Extra lines shown after the message (e.g. the last log lines of a failed service).
        self.details = details

    def one_line(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class UsageError(TelemetryError):
    """A bad option value or combination of options."""

    exit_code = EXIT_USAGE


class EngineUnavailable(TelemetryError):
    """No container engine answered, or the chosen one stopped answering."""


class ConflictError(TelemetryError):
    """A resource with one of our names exists but was not created by llama-telemetry, or a port is taken."""


class ServiceFailed(TelemetryError):
    """A service exited or did not become healthy in time."""
