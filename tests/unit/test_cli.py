"""The CLI's contract for bad input: one line on stderr, exit code 2, no traceback; and render."""

import json

import pytest


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["up", "--container", "lxc"], "--container 'lxc' is not supported"),
        (["up", "--image", "nope=x:1"], "unknown name 'nope'"),
        (["up", "--port", "grafana=0"], "1 to 65535"),
        (["up", "--pull", "sometimes"], "is not a pull policy"),
        (["up", "--timeout", "soon"], "--timeout"),
        (["up", "--bind", "0.0.0.0"], "default password"),
        (["up", "--bogus"], "No such option"),
        (["status", "--container", "kubernetes"], "is not supported"),
        (["down", "--project", "UPPER"], "is not a valid name"),
        (["render"], "--output"),
        (["frobnicate"], "No such command"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli, args, fragment):
    result = cli(*args)
    assert result.code == 2, result
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_environment_variables_are_read(cli):
    result = cli("up", env={"LLAMA_TELEMETRY_PULL": "sometimes"})
    assert result.code == 2 and "'sometimes' is not a pull policy" in result.stderr


def test_json_errors_keep_stdout_machine_readable(cli):
    result = cli("up", "--json", "--pull", "sometimes")
    assert result.code == 2
    assert json.loads(result.stdout) == {
        "schema_version": 1,
        "error": result.stderr.strip().removeprefix("error: "),
        "exit_code": 2,
    }


def test_render_writes_configs_and_dashboards(cli, tmp_path):
    result = cli("render", "--output", str(tmp_path / "out"), "--json")
    assert result.code == 0, result.stderr
    files = json.loads(result.stdout)["files"]
    assert "otel-collector/config.yaml" in files and "prometheus/prometheus.yml" in files
    assert len([f for f in files if f.endswith(".json")]) == 6
    assert all((tmp_path / "out" / f).is_file() for f in files)


def test_render_into_a_file_is_refused(cli, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    result = cli("render", "--output", str(target))
    assert result.code == 2 and "is not a directory" in result.stderr


def test_help_lists_every_command(cli):
    result = cli("--help")
    assert result.code == 0
    for command in ("up", "down", "status", "render"):
        assert command in result.stdout


@pytest.mark.parametrize(
    "runner",
    [pytest.param("subprocess", marks=pytest.mark.slow), "in-process"],  # subprocess: as the engine tests run it
)
def test_cli_runs_are_isolated_from_the_developers_environment(runner, cli, monkeypatch, tmp_path):
    """A developer's LLAMA_TELEMETRY_* variables, user config file and working-directory config file never reach the
    CLI the tests run: each run has its own home and runs outside the repository."""
    home = tmp_path / "home"
    (home / ".config" / "llama-telemetry").mkdir(parents=True)
    (home / ".config" / "llama-telemetry" / "config.yaml").write_text("project: from-user-config\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("LLAMA_TELEMETRY_PROJECT", "from-environment")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", "explicit_bucket_histogram")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "llama-telemetry.yaml").write_text("project: from-cwd-config\n")
    if runner == "subprocess":
        from tests.conftest import run_cli as cli
    shown = cli("config", "--json").json
    assert shown["config_file"] is None
    assert shown["settings"]["project"] == {"value": "default", "source": "default"}
    # What a test passes explicitly still arrives.
    assert (
        cli("config", "--json", env={"LLAMA_TELEMETRY_PROJECT": "given"}).json["settings"]["project"]["value"]
        == "given"
    )


def test_version_is_the_one_pyproject_declares(cli):
    from pathlib import Path

    import tomllib

    declared = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]["version"]
    result = cli("--version")
    assert (result.code, result.stdout) == (0, f"llama-telemetry {declared}\n")
