"""The `llama-telemetry` command line: parse options, build Settings, call one function, print.

Heavy modules (SDKs, jinja2, rich, OpenTelemetry) are imported inside the commands that need them, so
`--help` and argument errors stay fast. Option values may come from flags, environment variables or a
config file (flag > env > file > default); `_settings` records which, for `llama-telemetry config`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from telemetry_stack.errors import EXIT_FAILURE, EXIT_UNHEALTHY, EXIT_USAGE, TelemetryError, UsageError
from telemetry_stack.services import SERVICES, WITH_UI, definition
from telemetry_stack.settings import PORT_KEYS

if TYPE_CHECKING:
    from telemetry_stack.catalog import Server
    from telemetry_stack.output import UI
    from telemetry_stack.settings import Settings

app = typer.Typer(
    name="llama-telemetry",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ENV = "LLAMA_TELEMETRY_"


def _print_version(value: bool) -> None:
    if value:
        from telemetry_stack import __version__

        print(f"llama-telemetry {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """A local observability stack for OGX and Llama Stack apps: Jaeger, OpenTelemetry Collector, Prometheus and Grafana."""


VERIFY_TIMEOUT = 60.0  # verify's own default; --timeout overrides it

_SERVICE_LIST = ", ".join(SERVICES[:-1]) + " or " + SERVICES[-1]

# Options shared by several commands, each declared once. Parameters that feed Settings are named like its
# fields; their defaults are None so a value's source (flag, env, config file) is known.
ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config",
        envvar=ENV + "CONFIG",
        metavar="FILE",
        help="YAML config file (default: ./llama-telemetry.yaml, then the user config dir).",
    ),
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--container",
        envvar=ENV + "CONTAINER",
        metavar="docker|podman",
        help="Container engine (default: auto-detect, Docker first).",
    ),
]
ProjectOpt = Annotated[
    str | None,
    typer.Option(
        "--project",
        envvar=ENV + "PROJECT",
        help="Name of the stack (default: default); another project gets its own containers, network, volumes.",
    ),
]
ImagesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--image", envvar=ENV + "IMAGE", metavar="SERVICE=REF", help=f"Another image for {_SERVICE_LIST}. Repeatable."
    ),
]
PortsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--port", envvar=ENV + "PORT", metavar="KEY=PORT", help=f"Host port for {', '.join(PORT_KEYS)}. Repeatable."
    ),
]
PortsAutoOpt = Annotated[
    str | None,
    typer.Option(
        "--ports",
        envvar=ENV + "PORTS",
        metavar="auto",
        help="`auto`: pick free host ports (kept across `up`s) and report them.",
    ),
]
PullOpt = Annotated[
    str | None,
    typer.Option(
        "--pull", envvar=ENV + "PULL", metavar="missing|always|never", help="When to pull images (default: missing)."
    ),
]
BindOpt = Annotated[
    str | None,
    typer.Option(
        "--bind",
        envvar=ENV + "BIND",
        metavar="ADDRESS",
        help="Host address the ports are published on (default: 127.0.0.1).",
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        envvar=ENV + "TIMEOUT",
        metavar="SECONDS",
        help="How long to wait (default: 120 s for up, 60 s for verify).",
    ),
]
PasswordOpt = Annotated[
    str | None,
    typer.Option(
        "--grafana-password",
        envvar=ENV + "GRAFANA_PASSWORD",
        help="Grafana admin password (default: admin; required when binding beyond loopback).",
    ),
]
RedactOpt = Annotated[
    bool | None,
    typer.Option(
        "--redact-content/--keep-content",
        envvar=ENV + "REDACT_CONTENT",
        help="Drop GenAI prompt/response content from spans in the collector (default: keep).",
    ),
]
LogsOpt = Annotated[
    bool | None,
    typer.Option(
        "--logs/--no-logs",
        envvar=ENV + "LOGS",
        help="Add Grafana Loki and a logs pipeline: apps' log records and GenAI content events, linked to their traces.",
    ),
]
OgxMetricsOpt = Annotated[
    str | None,
    typer.Option(
        "--ogx-metrics",
        envvar=ENV + "OGX_METRICS",
        metavar="[HOST:]PORT",
        help="Also scrape OGX's own metrics endpoint (OGX_METRICS_ENDPOINT_ENABLED): PORT on this machine (OGX listening on 0.0.0.0), or HOST:PORT as the containers reach it.",
    ),
]
NamingOpt = Annotated[
    str,
    typer.Option(
        "--naming",
        envvar=ENV + "NAMING",
        metavar="ogx|llama-stack",
        help="Which server's names: OGX 1.x (ogx.*) or Llama Stack 0.7.x (llama_stack.*).",
    ),
]
JsonOpt = Annotated[
    bool,
    typer.Option("--json", envvar=ENV + "JSON", help="Print one JSON document on stdout (progress goes to stderr)."),
]
QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", envvar=ENV + "QUIET", help="Print only errors (and the JSON document with --json)."),
]


def _run(json_output: bool, quiet: bool, action: Callable[[UI], int]) -> None:
    """Run a command body, turning expected failures into one-line errors and exit codes.
    (`up` reports what an interrupt left behind itself, as an Interrupted error.)"""
    from telemetry_stack.output import UI
    from telemetry_stack.results import error_document

    ui = UI(json_output=json_output, quiet=quiet)
    try:
        code = action(ui) or 0
    except TelemetryError as error:
        ui.error(error)
        if json_output:
            ui.emit_json(error_document(error.one_line(), error.exit_code))
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        if json_output:
            ui.emit_json(error_document("interrupted", 130))
        raise typer.Exit(130) from None
    raise typer.Exit(code)


def _settings(ctx: typer.Context) -> Settings:
    """Settings from this command's options plus the config file, remembering where each value came from.
    The options that feed Settings are the parameters named like build_settings' keywords."""
    import inspect

    from telemetry_stack.settings import build_settings, find_config_file

    keywords = inspect.signature(build_settings).parameters
    values = {name: value for name, value in ctx.params.items() if name in keywords}
    params = {p.name: p for p in ctx.command.params}
    sources = {}
    for name in values:
        kind = getattr(ctx.get_parameter_source(name), "name", "")
        if kind == "COMMANDLINE":
            sources[name] = "flag"
        elif kind == "ENVIRONMENT":
            sources[name] = f"env {params[name].envvar}"
    if "ports_auto" in values:
        raw = values["ports_auto"]
        if raw not in (None, "auto"):
            raise UsageError(f"--ports {raw!r}: the only value is auto.", "Use --port KEY=N for fixed ports.")
        values["ports_auto"] = True if raw == "auto" else None
    return build_settings(config_file=find_config_file(ctx.params.get("config")), sources=sources, **values)


def _server(naming: str) -> Server:
    """The catalog's server for --naming, or a UsageError naming the choices."""
    from telemetry_stack import catalog

    try:
        return catalog.server_named(naming)
    except KeyError:
        choices = ", ".join(s.key for s in catalog.SERVERS)
        raise UsageError(f"--naming {naming!r} is not a server naming.", f"Use one of: {choices}.") from None


def _verify_wait(settings: Settings) -> float:
    """verify's own default wait, unless the user set --timeout (flag, env or config file)."""
    return settings.timeout if settings.sources.get("timeout") != "default" else VERIFY_TIMEOUT


# ------------------------------------------------------------------------------------- the stack


@app.command()
def up(
    ctx: typer.Context,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    project: ProjectOpt = None,
    images: ImagesOpt = None,
    ports: PortsOpt = None,
    ports_auto: PortsAutoOpt = None,
    pull: PullOpt = None,
    bind: BindOpt = None,
    timeout: TimeoutOpt = None,
    grafana_password: PasswordOpt = None,
    redact_content: RedactOpt = None,
    logs: LogsOpt = None,
    ogx_metrics: OgxMetricsOpt = None,
    verify: bool = typer.Option(
        False, "--verify", envvar=ENV + "VERIFY", help="Run `verify` right after the stack is healthy."
    ),
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Deploy the stack (or bring it up to date) and wait until every service is healthy."""

    def action(ui: UI) -> int:
        from telemetry_stack import deploy

        settings = _settings(ctx)
        result = deploy.up(settings, ui)
        if verify:
            from telemetry_stack.verify import verify_stack

            result.verify = verify_stack(result, settings.grafana_password, _verify_wait(settings), ui)
        ui.show_up(result)
        return 0 if result.verify is None or result.verify.ok else EXIT_FAILURE

    _run(json_output, quiet, action)


@app.command()
def down(
    ctx: typer.Context,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    project: ProjectOpt = None,
    volumes: bool = typer.Option(
        False, "--volumes", envvar=ENV + "DOWN_VOLUMES", help="Also remove the Prometheus and Grafana data volumes."
    ),
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Stop and remove the stack's containers and network (data volumes only with --volumes)."""

    def action(ui: UI) -> int:
        from telemetry_stack import deploy

        settings = _settings(ctx)
        ui.show_down(deploy.down(settings.engine, settings.project, volumes, ui))
        return 0

    _run(json_output, quiet, action)


@app.command()
def status(
    ctx: typer.Context,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    project: ProjectOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Show each service's state, health and URLs. Exit code 0 when all are healthy, 3 when not."""

    def action(ui: UI) -> int:
        from telemetry_stack import deploy

        settings = _settings(ctx)
        result = deploy.status(settings.engine, settings.project, ui)
        ui.show_status(result)
        return 0 if result.healthy else EXIT_UNHEALTHY

    _run(json_output, quiet, action)


@app.command()
def render(
    ctx: typer.Context,
    output: Path = typer.Option(
        ...,
        "--output",
        "-o",
        envvar=ENV + "OUTPUT",
        metavar="DIR",
        help="Directory to write into (created if missing).",
    ),
    format: str = typer.Option(
        "files",
        "--format",
        "-f",
        envvar=ENV + "FORMAT",
        metavar="files|compose|kubernetes",
        help="Plain config files, a compose project, or Kubernetes manifests.",
    ),
    config: ConfigOpt = None,
    project: ProjectOpt = None,
    images: ImagesOpt = None,
    ports: PortsOpt = None,
    bind: BindOpt = None,
    grafana_password: PasswordOpt = None,
    redact_content: RedactOpt = None,
    logs: LogsOpt = None,
    ogx_metrics: OgxMetricsOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write the rendered configuration (and the six dashboards) into DIR, without touching any engine.

    --project, --image, --port, --bind and --grafana-password shape the compose and kubernetes formats;
    the plain config files do not depend on them."""

    def action(ui: UI) -> int:
        from telemetry_stack.render import write_files

        settings = _settings(ctx)
        files = _rendered(format, settings)
        try:
            written = write_files(files, output)
        except OSError as exc:
            raise TelemetryError(
                f"Could not write to {output}: {exc.strerror or exc}.", "Choose a directory you can write to."
            ) from None
        relative = [str(p.relative_to(output)) for p in written]
        if json_output:
            from telemetry_stack.results import document

            ui.emit_json(document({"output": str(output), "format": format, "files": relative}))
        else:
            ui.info(f"Wrote {len(written)} files to {output}:")
            for path in relative:
                ui.info(f"  {path}")
        return 0

    _run(json_output, quiet, action)


def _rendered(format: str, settings: Settings) -> dict[str, bytes]:
    from telemetry_stack.stack import build_stack

    if format == "files":
        from telemetry_stack.render import render_files

        return render_files(settings.redact_content, settings.ogx_metrics, settings.logs)
    if format == "compose":
        from telemetry_stack.export import compose_files

        return compose_files(build_stack(settings))
    if format in ("kubernetes", "k8s"):
        from telemetry_stack.export import kubernetes_files

        return kubernetes_files(build_stack(settings))
    raise UsageError(f"--format {format!r} is not supported.", "Use files, compose or kubernetes.")


# --------------------------------------------------------------------------------- daily use, CI


@app.command()
def verify(
    ctx: typer.Context,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    project: ProjectOpt = None,
    grafana_password: PasswordOpt = None,
    timeout: TimeoutOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Prove the pipeline end to end: a span reaches Jaeger, a metric reaches Prometheus, Grafana's datasources answer."""

    def action(ui: UI) -> int:
        from telemetry_stack import deploy
        from telemetry_stack.verify import verify_stack

        settings = _settings(ctx)
        stack = deploy.status(settings.engine, settings.project, ui)
        deploy.require_healthy(stack)
        result = verify_stack(stack, settings.grafana_password, _verify_wait(settings), ui)
        if json_output:
            ui.emit_json(result.to_json())
        return 0 if result.ok else EXIT_FAILURE

    _run(json_output, quiet, action)


@app.command()
def env(
    ctx: typer.Context,
    format: str = typer.Option(
        "shell", "--format", "-f", envvar=ENV + "ENV_FORMAT", metavar="shell|dotenv|json|github", help="Output format."
    ),
    naming: NamingOpt = "ogx",
    service_name: str | None = typer.Option(
        None,
        "--service-name",
        envvar=ENV + "SERVICE_NAME",
        help="OTEL_SERVICE_NAME for your app [default: the server's own: ogx or llama-stack].",
    ),
    histograms: str = typer.Option(
        "exponential",
        "--histograms",
        envvar=ENV + "HISTOGRAMS",
        metavar="exponential|classic",
        help="exponential: accurate latency percentiles (native histograms); classic: the app's own buckets.",
    ),
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    project: ProjectOpt = None,
) -> None:
    """Print the OTEL_* settings an app needs: `eval "$(llama-telemetry env)"`, a .env file, or $GITHUB_ENV."""

    def action(ui: UI) -> int:
        from telemetry_stack import deploy
        from telemetry_stack.output import format_env

        if format not in ("shell", "dotenv", "json", "github"):
            raise UsageError(f"--format {format!r} is not supported.", "Use shell, dotenv, json or github.")
        if histograms not in ("exponential", "classic"):
            raise UsageError(f"--histograms {histograms!r} is not supported.", "Use exponential or classic.")
        server = _server(naming)
        settings = _settings(ctx)
        stack = deploy.status(settings.engine, settings.project, ui)
        if not stack.env:
            raise TelemetryError(
                f"The collector of project {settings.project!r} is not deployed.", "Run `llama-telemetry up` first."
            )
        variables = {**stack.env, "OTEL_SERVICE_NAME": service_name or server.default_service_name}
        if histograms == "classic":
            from telemetry_stack.catalog import EXPONENTIAL_HISTOGRAMS

            variables.pop(EXPONENTIAL_HISTOGRAMS[0], None)
        print(format_env(variables, format))
        return 0

    _run(False, True, action)


@app.command()
def logs(
    ctx: typer.Context,
    service: str = typer.Argument(..., envvar=ENV + "LOGS_SERVICE", metavar="SERVICE", help=f"{_SERVICE_LIST}."),
    follow: bool = typer.Option(
        False, "--follow", "-f", envvar=ENV + "LOGS_FOLLOW", help="Keep printing new lines until Ctrl-C."
    ),
    tail: int = typer.Option(
        100, "--tail", "-n", min=0, envvar=ENV + "LOGS_TAIL", metavar="N", help="Lines from the end to start with."
    ),
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    project: ProjectOpt = None,
) -> None:
    """Print a service's container log."""

    def action(ui: UI) -> int:
        from telemetry_stack import deploy

        settings = _settings(ctx)
        try:
            for chunk in deploy.logs(settings.engine, settings.project, service, tail, follow, ui):
                sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
        except KeyboardInterrupt:  # the normal end of --follow
            pass
        return 0

    _run(False, False, action)


@app.command("open")
def open_ui(
    ctx: typer.Context,
    service: str = typer.Argument(
        "grafana", envvar=ENV + "OPEN_SERVICE", metavar="[SERVICE]", help=f"{', '.join(WITH_UI)} (default: grafana)."
    ),
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    project: ProjectOpt = None,
) -> None:
    """Open a UI in the browser (prints the URL where there is no browser)."""

    def action(ui: UI) -> int:
        from telemetry_stack import deploy

        if service not in WITH_UI:
            raise UsageError(f"{service!r} has no UI to open.", f"Use {' or '.join(WITH_UI)}.")
        settings = _settings(ctx)
        url = deploy.status(settings.engine, settings.project, ui).urls.get(definition(service).ui_port)
        if not url:
            raise TelemetryError(
                f"{service} of project {settings.project!r} is not deployed.", "Run `llama-telemetry up` first."
            )
        import webbrowser

        opened = sys.stdout.isatty() and webbrowser.open(url)
        print(url if not opened else f"Opened {url}")
        return 0

    _run(False, False, action)


@app.command()
def doctor(
    ctx: typer.Context,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    project: ProjectOpt = None,
    images: ImagesOpt = None,
    ports: PortsOpt = None,
    ports_auto: PortsAutoOpt = None,
    pull: PullOpt = None,
    bind: BindOpt = None,
    grafana_password: PasswordOpt = None,
    logs: LogsOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Check what usually goes wrong (engines, ports, images, volumes, SELinux), each finding with a fix."""

    def action(ui: UI) -> int:
        from telemetry_stack.doctor import run_checks

        settings = _settings(ctx)
        report = run_checks(settings)
        ui.show_doctor(report)
        return 0 if report.ok else EXIT_FAILURE

    _run(json_output, False, action)


@app.command("config")
def show_config(
    ctx: typer.Context,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    project: ProjectOpt = None,
    images: ImagesOpt = None,
    ports: PortsOpt = None,
    ports_auto: PortsAutoOpt = None,
    pull: PullOpt = None,
    bind: BindOpt = None,
    timeout: TimeoutOpt = None,
    grafana_password: PasswordOpt = None,
    redact_content: RedactOpt = None,
    logs: LogsOpt = None,
    ogx_metrics: OgxMetricsOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Show the effective settings and where each came from (flag > env > config file > default)."""

    def action(ui: UI) -> int:
        from telemetry_stack.settings import describe, find_config_file

        settings = _settings(ctx)
        ui.show_config(describe(settings), find_config_file(config))
        return 0

    _run(json_output, False, action)


@app.command()
def demo(
    ctx: typer.Context,
    duration: float = typer.Option(
        60.0, "--duration", envvar=ENV + "DEMO_DURATION", metavar="SECONDS", help="How long to send telemetry."
    ),
    rate: float = typer.Option(
        2.0, "--rate", envvar=ENV + "DEMO_RATE", metavar="PER_SECOND", help="Synthetic requests per second."
    ),
    naming: NamingOpt = "ogx",
    service_name: str | None = typer.Option(
        None,
        "--service-name",
        envvar=ENV + "DEMO_SERVICE_NAME",
        help="service.name of the synthetic app [default: ogx-demo or llama-stack-demo].",
    ),
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    project: ProjectOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Send realistic synthetic OGX or Llama Stack telemetry to the running stack, to see the dashboards filled."""

    def action(ui: UI) -> int:
        from telemetry_stack import deploy
        from telemetry_stack.demo import run_demo

        server = _server(naming)
        settings = _settings(ctx)
        stack = deploy.status(settings.engine, settings.project, ui)
        deploy.require_healthy(stack)
        result = run_demo(
            stack.env["OTEL_EXPORTER_OTLP_ENDPOINT"],
            duration,
            rate,
            service_name,
            ui.demo_progress(duration),
            server=server,
        )
        ui.show_demo(result, stack)
        return 0

    _run(json_output, quiet, action)


# ----------------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    """Entry point: usage errors become one line and exit code 2, never a traceback.

    Typer builds on Click (vendored since typer 0.26), so Click's exceptions are recognised by their
    shape rather than imported: usage errors carry `format_message()` and `exit_code`."""
    command = typer.main.get_command(app)
    args = sys.argv[1:] if argv is None else argv
    try:
        code = command.main(args=args, prog_name="llama-telemetry", standalone_mode=False)
    except BrokenPipeError:  # e.g. `llama-telemetry logs grafana | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except (typer.Exit, typer.Abort, KeyboardInterrupt, Exception) as exc:
        code, message = _exit_code_for(exc)
        if message:
            print(f"error: {message}", file=sys.stderr)
            if "--json" in args or os.environ.get(ENV + "JSON", "").lower() in ("1", "true", "yes"):
                from telemetry_stack.results import error_document

                print(json.dumps(error_document(message, code)))
    sys.exit(code if isinstance(code, int) else 0)


def _exit_code_for(exc: BaseException) -> tuple[int, str | None]:
    """(exit code, error message to print, if any) for what escaped Click/Typer."""
    name = type(exc).__name__
    if name == "Exit" or (hasattr(exc, "exit_code") and not hasattr(exc, "format_message")):
        return int(getattr(exc, "exit_code", 0) or 0), None
    if name == "Abort" or isinstance(exc, KeyboardInterrupt):
        return 130, "interrupted"
    if name == "NoArgsIsHelpError":  # bare `llama-telemetry`: show the help, not an error
        print(cast(Any, exc).format_message())
        return EXIT_USAGE, None
    if hasattr(exc, "format_message"):
        ctx = getattr(exc, "ctx", None)
        code = int(getattr(exc, "exit_code", EXIT_FAILURE) or EXIT_FAILURE)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None and code == EXIT_USAGE else ""
        return code, f"{cast(Any, exc).format_message()}{hint}"
    raise exc
