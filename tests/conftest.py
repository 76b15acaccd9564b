"""Shared fixtures: run the real CLI, and reach the real engines (never a mocked SDK).

Engine tests skip when an engine is not running on a developer machine. CI sets
LLAMA_TELEMETRY_REQUIRE_ENGINES=docker,podman: then an unreachable engine fails the test, and the
session fails unless engine tests really passed on every required engine.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REQUIRED_ENGINES = tuple(e for e in os.environ.get("LLAMA_TELEMETRY_REQUIRE_ENGINES", "").split(",") if e)
REAL_PROGRAMS = ("jaeger", "otel-collector", "prometheus")  # built from their Go modules; Grafana is a stand-in
_engine_passes: dict[str, int] = {}
_real_programs_on: set[str] = set()  # engines whose test images were confirmed to be the real programs


def record_real_programs(engine: str) -> None:
    _real_programs_on.add(engine)


def required(tool: str) -> bool:
    return tool in REQUIRED_ENGINES or (bool(REQUIRED_ENGINES) and tool in ("promtool", "prometheus", "go"))


def skip_or_fail(tool: str, reason: str) -> None:
    if required(tool):
        pytest.fail(f"{reason} (required by LLAMA_TELEMETRY_REQUIRE_ENGINES)")
    pytest.skip(reason)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict:
        return json.loads(self.stdout)


# Every CLI run gets its own home, config and cache directories and a working directory outside the repository,
# so neither a developer's config file (./llama-telemetry.yaml, ~/.config/llama-telemetry/config.yaml) nor their
# LLAMA_TELEMETRY_* and OTEL_* variables change what a test sees. Engine sockets are found as before: DOCKER_HOST,
# CONTAINER_HOST and XDG_RUNTIME_DIR pass through.
CLI_HOME = Path(tempfile.mkdtemp(prefix="llama-telemetry-tests-home-"))
atexit.register(shutil.rmtree, CLI_HOME, ignore_errors=True)  # one per test run; nothing left behind


def cli_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI run: the test's own variables over a clean, isolated base."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LLAMA_TELEMETRY_", "OTEL_"))}
    base.update(HOME=str(CLI_HOME), XDG_CONFIG_HOME=str(CLI_HOME / ".config"), XDG_CACHE_HOME=str(CLI_HOME / ".cache"))
    return {**base, **(env or {})}


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180, cwd: Path | None = None) -> Result:
    """Run `python -m telemetry_stack ARGS` as a user would (a subprocess, no shared state)."""
    proc = subprocess.run(
        [sys.executable, "-m", "telemetry_stack", *args],
        capture_output=True,
        text=True,
        env=cli_environment(env),
        timeout=timeout,
        cwd=cwd or CLI_HOME,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def spawn_cli(*args: str, env: dict[str, str]) -> subprocess.Popen:
    """Start `python -m telemetry_stack ARGS` and return at once (for Ctrl-C, concurrency, --follow)."""
    return subprocess.Popen(
        [sys.executable, "-m", "telemetry_stack", *args],
        cwd=CLI_HOME,
        env=cli_environment(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def cli():
    return run_cli


def pytest_runtest_logreport(report):
    engine = getattr(report, "engine_name", None)
    if engine and report.when == "call" and report.passed:
        _engine_passes[engine] = _engine_passes.get(engine, 0) + 1


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "engine_name" in callspec.params:
        outcome.get_result().engine_name = callspec.params["engine_name"]


def pytest_sessionfinish(session, exitstatus):
    if not REQUIRED_ENGINES or session.config.option.collectonly:
        return
    missing = [e for e in REQUIRED_ENGINES if _engine_passes.get(e, 0) == 0]
    not_real = [e for e in REQUIRED_ENGINES if e not in _real_programs_on]
    if missing:
        print(
            f"\nERROR: no engine test passed on {', '.join(missing)}, but LLAMA_TELEMETRY_REQUIRE_ENGINES requires it."
        )
        session.exitstatus = 1
    elif not_real:
        print(f"\nERROR: the engine tests on {', '.join(not_real)} did not run the real {', '.join(REAL_PROGRAMS)}.")
        session.exitstatus = 1
    else:
        counts = ", ".join(f"{e}: {_engine_passes[e]}" for e in REQUIRED_ENGINES)
        print(f"\nEngine tests passed per engine: {counts}")
