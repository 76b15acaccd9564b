"""The `llama-telemetry` command line: parse options, build Settings, call one function, print.

Heavy modules (SDKs, jinja2, rich) are imported inside the commands that need them, so `--help`
and argument errors stay fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, List, Optional

import typer

from telemetry_stack.errors import EXIT_FAILURE, EXIT_UNHEALTHY, EXIT_USAGE, TelemetryError, UsageError

app = typer.Typer(
    name="llama-telemetry",
    help="A local observability stack for Llama Stack apps: Jaeger, OpenTelemetry Collector, Prometheus and Grafana.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ENV = "LLAMA_TELEMETRY_"

ContainerOpt = typer.Option(None, "--container", envvar=ENV + "CONTAINER", metavar="docker|podman", help="Container engine (default: auto-detect, Docker first).")
ProjectOpt = typer.Option("default", "--project", envvar=ENV + "PROJECT", help="Name of the stack; a non-default project gets its own containers, network and volumes.")
JsonOpt = typer.Option(False, "--json", envvar=ENV + "JSON", help="Print one JSON document on stdout (progress goes to stderr).")


def _run(json_output: bool, action: Callable[["UI"], int | None]) -> None:
    """Run a command body, turning expected failures into one-line errors and exit codes."""
    from telemetry_stack.output import UI

    ui = UI(json_output=json_output)
    try:
        code = action(ui) or 0
    except TelemetryError as error:
        ui.error(error)
        if json_output:
            ui.emit_json({"error": error.one_line(), "exit_code": error.exit_code})
        raise typer.Exit(error.exit_code)
    except KeyboardInterrupt:
        print(
            "\nInterrupted. Containers created so far were left as they are: run `llama-telemetry up` to finish, "
            "or `llama-telemetry down` to remove them.",
            file=sys.stderr,
        )
        raise typer.Exit(130)
    raise typer.Exit(code)


@app.command()
def up(
    container: Optional[str] = ContainerOpt,
    project: str = ProjectOpt,
    image: List[str] = typer.Option([], "--image", envvar=ENV + "IMAGE", metavar="SERVICE=REF", help="Use another image for a service (jaeger, otel-collector, prometheus, grafana). Repeatable."),
    port: List[str] = typer.Option([], "--port", envvar=ENV + "PORT", metavar="KEY=PORT", help="Publish on another host port: jaeger, otlp-grpc, otlp-http, collector-health, prometheus, grafana. Repeatable."),
    pull: str = typer.Option("missing", "--pull", envvar=ENV + "PULL", metavar="missing|always|never", help="When to pull images."),
    bind: str = typer.Option("127.0.0.1", "--bind", envvar=ENV + "BIND", metavar="ADDRESS", help="Host address the ports are published on."),
    timeout: float = typer.Option(120.0, "--timeout", envvar=ENV + "TIMEOUT", metavar="SECONDS", help="How long to wait for every service to become healthy."),
    grafana_password: Optional[str] = typer.Option(None, "--grafana-password", envvar=ENV + "GRAFANA_PASSWORD", help="Grafana admin password (default admin; required when binding beyond loopback)."),
    json_output: bool = JsonOpt,
) -> None:
    """Deploy the stack (or bring it up to date) and wait until every service is healthy."""

    def action(ui) -> int:
        from telemetry_stack import deploy
        from telemetry_stack.settings import build_settings

        settings = build_settings(
            engine=container, project=project, images=image, ports=port, bind=bind, pull=pull,
            timeout=timeout, grafana_password=grafana_password,
        )
        ui.show_up(deploy.up(settings, ui))
        return 0

    _run(json_output, action)


@app.command()
def down(
    container: Optional[str] = ContainerOpt,
    project: str = ProjectOpt,
    volumes: bool = typer.Option(False, "--volumes", envvar=ENV + "DOWN_VOLUMES", help="Also remove the Prometheus and Grafana data volumes."),
    json_output: bool = JsonOpt,
) -> None:
    """Stop and remove the stack's containers and network (data volumes only with --volumes)."""

    def action(ui) -> int:
        from telemetry_stack import deploy
        from telemetry_stack.settings import build_settings

        settings = build_settings(engine=container, project=project)
        ui.show_down(deploy.down(settings.engine, settings.project, volumes, ui))
        return 0

    _run(json_output, action)


@app.command()
def status(
    container: Optional[str] = ContainerOpt,
    project: str = ProjectOpt,
    json_output: bool = JsonOpt,
) -> None:
    """Show each service's state, health and URLs. Exit code 0 when all are healthy, 3 when not."""

    def action(ui) -> int:
        from telemetry_stack import deploy
        from telemetry_stack.settings import build_settings

        settings = build_settings(engine=container, project=project)
        summary = deploy.status(settings.engine, settings.project, ui)
        ui.show_status(summary)
        return 0 if summary["healthy"] else EXIT_UNHEALTHY

    _run(json_output, action)


@app.command()
def render(
    output: Path = typer.Option(..., "--output", "-o", envvar=ENV + "OUTPUT", metavar="DIR", help="Directory to write into (created if missing)."),
    json_output: bool = JsonOpt,
) -> None:
    """Write every rendered config file and the six dashboards into DIR, without touching any engine."""

    def action(ui) -> int:
        from telemetry_stack.render import render_files, write_files
        from telemetry_stack.settings import SERVICES

        try:
            written = write_files(render_files({svc: svc for svc in SERVICES}), output)
        except OSError as exc:
            raise TelemetryError(f"Could not write to {output}: {exc.strerror or exc}.", "Choose a directory you can write to.") from None
        if json_output:
            ui.emit_json({"output": str(output), "files": [str(p.relative_to(output)) for p in written]})
        else:
            ui.info(f"Wrote {len(written)} files to {output}:")
            for path in written:
                ui.info(f"  {path.relative_to(output)}")
        return 0

    _run(json_output, action)


def main(argv: list[str] | None = None) -> None:
    """Entry point: usage errors become one line and exit code 2, never a traceback.

    Typer builds on Click (vendored since typer 0.26), so Click's exceptions are recognised by their
    shape rather than imported: usage errors carry `format_message()` and `exit_code`."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="llama-telemetry", standalone_mode=False)
    except (typer.Exit, typer.Abort, KeyboardInterrupt, Exception) as exc:
        code = _exit_code_for(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _exit_code_for(exc: BaseException) -> int:
    name = type(exc).__name__
    if name == "Exit" or (hasattr(exc, "exit_code") and not hasattr(exc, "format_message")):
        return int(getattr(exc, "exit_code", 0) or 0)
    if name == "Abort" or isinstance(exc, KeyboardInterrupt):
        print("\nInterrupted.", file=sys.stderr)
        return 130
    if name == "NoArgsIsHelpError":  # bare `llama-telemetry`: show the help, not an error
        print(exc.format_message())
        return EXIT_USAGE
    if hasattr(exc, "format_message"):
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None and getattr(exc, "exit_code", 1) == EXIT_USAGE else ""
        print(f"error: {exc.format_message()}{hint}", file=sys.stderr)
        return int(getattr(exc, "exit_code", EXIT_FAILURE) or EXIT_FAILURE)
    raise exc


__all__ = ["app", "main", "UsageError"]
