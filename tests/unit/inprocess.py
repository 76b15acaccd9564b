"""The real CLI entry point (`telemetry_stack.cli.main`), run in this process, isolated like `run_cli`.

A subprocess costs a third of a second; this costs a millisecond or two, so tests can run the CLI once per
option and source. It is the same code path as `llama-telemetry ARGS`: argument parsing, environment variables,
config file discovery, error handling and exit codes, stdout and stderr. Only Typer's building of the Click
command from the `app` is done once and reused (Click makes a fresh context for every invocation).
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from unittest import mock

import typer.main

from telemetry_stack import cli
from tests.conftest import CLI_HOME, Result, cli_environment

_command = typer.main.get_command(cli.app)


def invoke(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Result:
    """`llama-telemetry ARGS` with the environment `run_cli` gives it (the test's variables over a clean base,
    its own home and config directories) in `cwd` (default: that home)."""
    saved_environ, saved_cwd = dict(os.environ), Path.cwd()
    stdout, stderr = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    os.environ.clear()
    os.environ.update(cli_environment(env))
    os.chdir(cwd or CLI_HOME)
    try:
        with (
            mock.patch.object(typer.main, "get_command", lambda app: _command),
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
        ):
            cli.main(list(args))
    except SystemExit as exit:
        code = exit.code
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
    return Result(code if isinstance(code, int) else 1, stdout.getvalue(), stderr.getvalue())
