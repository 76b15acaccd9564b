"""Everything the user sees: rich tables and live progress on a terminal, plain lines in CI logs, JSON.

With --json, stdout carries exactly one JSON document; progress and notices go to stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import Callable, Iterator

from telemetry_stack.errors import TelemetryError
from telemetry_stack.settings import PUBLISHED_PORTS


class UI:
    def __init__(self, json_output: bool = False, quiet: bool = False):
        self.json_output = json_output
        self.quiet = quiet
        self.interactive = sys.stdout.isatty() and sys.stderr.isatty() and not json_output and "CI" not in os.environ
        self._out = sys.stderr if json_output else sys.stdout

    # -- plain messages
    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self._out if not self.json_output else sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=sys.stderr, flush=True)

    def error(self, error: TelemetryError) -> None:
        if error.details:
            print(error.details, file=sys.stderr)
        print(f"error: {error.one_line()}", file=sys.stderr, flush=True)

    def emit_json(self, data: dict) -> None:
        print(json.dumps(data, indent=2), flush=True)

    def _console(self):
        from rich.console import Console

        return Console(file=sys.stderr if self.json_output else sys.stdout)

    # -- progress
    def pull_progress(self, ref: str, events: Iterator) -> None:
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

        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=self._console()) as progress:
            overall = progress.add_task(f"pulling {ref}", total=None)
            layers: dict[str, int] = {}
            for event in events:
                if event.layer == ref:
                    continue
                if event.layer not in layers:
                    layers[event.layer] = progress.add_task(f"  {event.layer[:12]}", total=event.total)
                task = layers[event.layer]
                progress.update(task, description=f"  {event.layer[:12]} {event.status}", total=event.total or None, completed=event.current or 0)
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
                style = "green" if state == "healthy" else ("red" if "exit" in state or state == "removed" else "yellow")
                grid.add_row(name, f"[{style}]{state}[/{style}]")
            grid.caption = f"{time.monotonic() - started:.1f}s"
            return grid

        with Live(table(), console=self._console(), refresh_per_second=10, transient=True) as live:
            def update(name: str, state: str) -> None:
                states[name] = state
                live.update(table())

            yield update

    # -- results
    def show_up(self, summary: dict) -> None:
        if self.json_output:
            self.emit_json(summary)
            return
        changed = [s["name"] for s in summary["services"] if s.get("action") != "unchanged"]
        what = f"{', '.join(changed)} (re)deployed" if changed else "already up to date, nothing changed"
        self.info(f"Stack {summary['project']!r} is healthy on {summary['engine']}: {what} in {summary['elapsed_seconds']:.1f}s.")
        self._endpoints(summary)
        password = "admin" if summary.get("grafana_default_password") else "the password you set"
        self.info(f"\nGrafana login: admin / {password}")
        self.info("\nPoint your Llama Stack app at the collector:")
        for key, value in summary["env"].items():
            self.info(f"  export {key}={value}")

    def _endpoints(self, summary: dict) -> None:
        titles = {p.key: p.title for p in PUBLISHED_PORTS}
        rows = [(titles[key], svc["name"], url) for svc in summary["services"] for key, url in svc["urls"].items()]
        if self.interactive:
            from rich.table import Table

            table = Table(show_header=True)
            for column in ("endpoint", "service", "URL"):
                table.add_column(column)
            for row in rows:
                table.add_row(*row)
            self._console().print(table)
        else:
            for title, service, url in rows:
                self.info(f"  {title:<18} {url}")

    def show_status(self, summary: dict) -> None:
        if self.json_output:
            self.emit_json(summary)
            return
        self.info(f"Project {summary['project']!r} on {summary['engine']} ({summary['engine_url']}):")
        for svc in summary["services"]:
            health = "healthy" if svc["healthy"] else "not healthy"
            urls = "  ".join(svc["urls"].values())
            self.info(f"  {svc['name']:<15} {svc['state']:<10} {health:<12} {urls}")

    def show_down(self, result: dict) -> None:
        if self.json_output:
            self.emit_json(result)
            return
        removed = result["removed_containers"]
        self.info(f"Removed {len(removed)} container(s){': ' + ', '.join(removed) if removed else ''}.")
        if result["removed_network"]:
            self.info(f"Removed network {result['removed_network']}.")
        if result["removed_volumes"]:
            self.info(f"Removed volumes: {', '.join(result['removed_volumes'])}.")
        if result["kept_volumes"]:
            self.info(f"Kept data volumes {', '.join(result['kept_volumes'])} (remove them with `llama-telemetry down --volumes`).")
