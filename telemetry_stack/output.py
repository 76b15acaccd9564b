"""Everything the user sees: rich tables and live progress on a terminal, plain lines in CI logs, JSON.

With --json, stdout carries exactly one JSON document; progress and notices go to stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from telemetry_stack.engines.base import PullEvent
from telemetry_stack.errors import TelemetryError
from telemetry_stack.results import DoctorReport, DownResult, StackReport, StatusResult, UpResult, document
from telemetry_stack.services import PUBLISHED_PORTS


class UI:
    """The terminal's Reporter (telemetry_stack.reporting), and the printer of every command's result."""

    def __init__(self, json_output: bool = False, quiet: bool = False):
        self.json_output = json_output
        self.quiet = quiet
        self.interactive = sys.stdout.isatty() and sys.stderr.isatty() and not json_output and "CI" not in os.environ

    @property
    def _out(self) -> TextIO:  # looked up at each write, so a redirected stdout (tests, in-process runs) is honoured
        return sys.stderr if self.json_output else sys.stdout

    # -- plain messages
    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self._out, flush=True)

    def note(self, message: str) -> None:
        """Context for humans that must never mix with stdout data (engine choice, waiting notices)."""
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=sys.stderr, flush=True)

    def error(self, error: TelemetryError) -> None:
        if error.details:
            print(error.details, file=sys.stderr)
        print(f"error: {error.one_line()}", file=sys.stderr, flush=True)

    def emit_json(self, data: dict[str, Any]) -> None:
        print(json.dumps(data, indent=2), flush=True)

    def _console(self):
        from rich.console import Console

        return Console(file=sys.stderr if self.json_output else sys.stdout)

    # -- progress
    def pull_progress(self, ref: str, events: Iterator[PullEvent]) -> None:
        """Consume a pull's events, showing per-layer progress (rich bars, or a line per finished layer)."""
        if not self.interactive:
            self.info(f"Pulling {ref} ...")
            done = set()
            for event in events:
                if event.status in ("Pull complete", "Already exists", "done") and event.layer not in done:
                    done.add(event.layer)
            self.info(f"Pulled {ref} ({len(done)} layers).")
            return
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        with Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=self._console()
        ) as progress:
            overall = progress.add_task(f"pulling {ref}", total=None)
            layers: dict[str, Any] = {}  # layer -> rich TaskID
            for event in events:
                if event.layer == ref:
                    continue
                if event.layer not in layers:
                    layers[event.layer] = progress.add_task(f"  {event.layer[:12]}", total=event.total)
                task = layers[event.layer]
                progress.update(
                    task,
                    description=f"  {event.layer[:12]} {event.status}",
                    total=event.total or None,
                    completed=event.current or 0,
                )
                if event.status in ("Pull complete", "Already exists", "Download complete", "done"):
                    progress.update(task, total=1, completed=1)
            progress.update(overall, total=1, completed=1)

    @contextlib.contextmanager
    def wait_progress(self, services: list[str]) -> Iterator[Callable[[str, str], None]]:
        """Yields update(service, state); a live table on a terminal, one line per change otherwise."""
        started = time.monotonic()
        states = {name: "starting" for name in services}
        if not self.interactive:

            def update(name: str, state: str) -> None:
                if states.get(name) != state:
                    states[name] = state
                    self.info(f"{name}: {state} ({time.monotonic() - started:.1f}s)")

            yield update
            return

        from rich.live import Live
        from rich.table import Table

        def table() -> Table:
            grid = Table(title="Waiting for services", show_header=True)
            grid.add_column("service")
            grid.add_column("state")
            for name, state in states.items():
                style = (
                    "green" if state == "healthy" else ("red" if "exit" in state or state == "removed" else "yellow")
                )
                grid.add_row(name, f"[{style}]{state}[/{style}]")
            grid.caption = f"{time.monotonic() - started:.1f}s"
            return grid

        with Live(table(), console=self._console(), refresh_per_second=10, transient=True) as live:

            def update(name: str, state: str) -> None:
                states[name] = state
                live.update(table())

            yield update

    # -- results
    def show_up(self, result: UpResult) -> None:
        if self.json_output:
            self.emit_json(result.to_json())
            return
        changed = [s.name for s in result.services if s.action != "unchanged"]
        what = f"{', '.join(changed)} (re)deployed" if changed else "already up to date, nothing changed"
        self.info(f"Stack {result.project!r} is healthy on {result.engine}: {what} in {result.elapsed_seconds:.1f}s.")
        self._endpoints(result)
        password = "admin" if result.grafana_default_password else "the password you set"
        self.info(f"\nGrafana login: admin / {password}")
        self.info("\nPoint your OGX or Llama Stack app at the collector (and see `llama-telemetry env`):")
        for key, value in result.env.items():
            self.info(f"  export {key}={value}")

    def _endpoints(self, stack: StackReport) -> None:
        titles = {p.key: p.title for p in PUBLISHED_PORTS}
        rows = [(titles[key], svc.name, url) for svc in stack.services for key, url in svc.urls.items()]
        if self.interactive:
            from rich.table import Table

            table = Table(show_header=True)
            for column in ("endpoint", "service", "URL"):
                table.add_column(column)
            for row in rows:
                table.add_row(*row)
            self._console().print(table)
        else:
            for title, _service, url in rows:
                self.info(f"  {title:<18} {url}")

    def show_status(self, result: StatusResult) -> None:
        if self.json_output:
            self.emit_json(result.to_json())
            return
        self.info(f"Project {result.project!r} on {result.engine} ({result.engine_url}):")
        for svc in result.services:
            health = "healthy" if svc.healthy else "not healthy"
            urls = "  ".join(svc.urls.values())
            self.info(f"  {svc.name:<15} {svc.state:<10} {health:<12} {urls}")
        reboot = result.after_reboot
        if reboot:
            verdict = {True: "comes back", False: "stays down", None: "unknown"}[reboot.comes_back]
            self.info(f"After a reboot: {verdict} ({reboot.detail})" + (f"\n  fix: {reboot.fix}" if reboot.fix else ""))

    def show_down(self, result: DownResult) -> None:
        if self.json_output:
            self.emit_json(result.to_json())
            return
        removed = result.removed_containers
        self.info(f"Removed {len(removed)} container(s){': ' + ', '.join(removed) if removed else ''}.")
        if result.removed_network:
            self.info(f"Removed network {result.removed_network}.")
        if result.removed_volumes:
            self.info(f"Removed volumes: {', '.join(result.removed_volumes)}.")
        if result.kept_volumes:
            self.info(
                f"Kept data volumes {', '.join(result.kept_volumes)} (remove them with `llama-telemetry down --volumes`)."
            )

    def show_doctor(self, report: DoctorReport) -> None:
        if self.json_output:
            self.emit_json(report.to_json())
            return
        marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "info": "info"}
        for check in report.checks:
            line = f"[{marks[check.status]}] {check.title}: {check.detail}"
            self.info(line + (f"\n       fix: {check.fix}" if check.fix else ""))
        self.info("\nEverything looks fine." if report.ok else "\nSome checks failed: see the fixes above.")

    def show_config(self, rows: list[tuple[str, str, str]], config_file) -> None:
        if self.json_output:
            self.emit_json(
                document(
                    {
                        "config_file": str(config_file) if config_file else None,
                        "settings": {name: {"value": value, "source": source} for name, value, source in rows},
                    }
                )
            )
            return
        self.info(f"Config file: {config_file or '(none found)'}")
        width = max(len(r[0]) for r in rows)
        for name, value, source in rows:
            self.info(f"  {name:<{width}}  {value:<50}  {source}")

    def demo_progress(self, duration: float) -> Callable[[dict], None]:
        """A callback for the demo: a progress line (on stderr) every few seconds and at the end."""
        last = {"printed": -10.0}

        def update(state: dict) -> None:
            elapsed = state.get("elapsed", 0.0)
            if elapsed - last["printed"] >= 5 or state.get("done"):
                last["printed"] = elapsed
                self.note(
                    f"demo: {elapsed:4.0f}/{duration:g}s  {state.get('requests', 0)} requests, "
                    f"{state.get('spans', 0)} spans sent"
                )

        return update

    def show_demo(self, result: dict[str, Any], stack: StackReport) -> None:
        if self.json_output:
            self.emit_json(document(result))
            return
        grafana = stack.grafana.url if stack.grafana and stack.grafana.url else "Grafana"
        self.info(
            f"Sent {result.get('requests', 0)} synthetic requests and {result.get('spans', 0)} spans in {result.get('duration', 0):.0f}s."
        )
        if result.get("export_errors"):
            self.warn(f"{result['export_errors']} exports failed; last error: {result.get('last_export_error')}")
        self.info("Open the dashboards:")
        for dashboard in result.get("dashboards", []):
            self.info(f"  {dashboard['title']:<32} {grafana}{dashboard['path']}")
        jaeger = stack.urls.get("jaeger")
        if jaeger:
            self.info(f"  {'Traces in Jaeger':<32} {jaeger}/search?service={result.get('service_name', '')}")


def format_env(variables: dict[str, str], style: str) -> str:
    """OTEL_* variables for `eval` (shell), a .env file (dotenv), JSON, or $GITHUB_ENV (github)."""
    import shlex

    if style == "json":
        return json.dumps(variables, indent=2)
    if style == "shell":
        return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in variables.items())
    return "\n".join(f"{k}={v}" for k, v in variables.items())  # dotenv and GITHUB_ENV share KEY=VALUE lines
