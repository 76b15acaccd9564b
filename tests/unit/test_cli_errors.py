"""The CLI's failure paths and exit codes, pinned: usage errors, failures, interrupts and `status`'s verdict.

README: exit 0 success (`status`: every service healthy), 1 failure, 2 bad usage, 3 `status` only: not (fully)
running and healthy, 130 interrupted. Errors are one line on stderr; with `--json` stdout also gets
`{"schema_version": 1, "error": ..., "exit_code": ...}` and nothing else. Commands that need an engine get a
StatusResult (or an error) from `telemetry_stack.deploy.status`, replaced here; the rest of the CLI is the real one.
"""

from __future__ import annotations

import json

import pytest

from telemetry_stack import deploy
from telemetry_stack.engines.base import RebootReport
from telemetry_stack.errors import EngineUnavailable
from telemetry_stack.results import GrafanaLogin, ServiceReport, StatusResult
from tests.unit.inprocess import invoke


def assert_one_line_error(result, code: int, message: str) -> None:
    assert result.code == code, result
    assert result.stderr == f"error: {message}\n"


# (arguments, the whole error message): every one is bad usage, exit code 2.
USAGE_ERRORS = [
    (
        ["up", "--xyzzy-unknown"],
        "No such option: --xyzzy-unknown (see `llama-telemetry up --help`)",
    ),
    (
        ["frobnicate"],
        "No such command 'frobnicate'. (see `llama-telemetry --help`)",
    ),
    (
        ["config", "--timeout", "soon"],
        "Invalid value for '--timeout' (env var: 'LLAMA_TELEMETRY_TIMEOUT'): 'soon' is not a valid float. "
        "(see `llama-telemetry config --help`)",
    ),
    (
        ["render"],
        "Missing option '--output' / '-o' (env var: 'LLAMA_TELEMETRY_OUTPUT'). (see `llama-telemetry render --help`)",
    ),
    (
        ["config", "--pull", "sometimes"],
        "--pull 'sometimes' is not a pull policy. Use one of: missing, always, never.",
    ),
    (
        ["status", "--container", "lxc"],
        "--container 'lxc' is not supported. Use one of: docker, podman.",
    ),
    (
        ["down", "--project", "Bad Name"],
        "--project 'Bad Name' is not a valid name. Use lowercase letters, digits, '-' or '_' (at most 40, starting "
        "with a letter or digit).",
    ),
    (
        ["up", "--ports", "fixed"],
        "--ports 'fixed': the only value is auto. Use --port KEY=N for fixed ports.",
    ),
    (
        ["config", "--bind", "0.0.0.0"],
        "--bind 0.0.0.0 would expose Grafana beyond this machine with the default password 'admin'. Set "
        "--grafana-password (or LLAMA_TELEMETRY_GRAFANA_PASSWORD, or grafana_password in the config file), or keep "
        "the default bind 127.0.0.1.",
    ),
    (
        ["render", "--output", "out", "--format", "yaml"],
        "--format 'yaml' is not supported. Use files, compose or kubernetes.",
    ),
    (
        ["env", "--format", "xml"],
        "--format 'xml' is not supported. Use shell, dotenv, json or github.",
    ),
    (
        ["open", "otel-collector"],
        "'otel-collector' has no UI to open. Use jaeger or prometheus or grafana.",
    ),
]
JSON_USAGE_ERRORS = [case for case in USAGE_ERRORS if case[0][0] not in ("env", "open")]  # no --json there


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS, ids=[" ".join(args) for args, _ in USAGE_ERRORS])
def test_usage_errors_are_one_line_and_exit_2(args, message, tmp_path):
    result = invoke(*args, cwd=tmp_path)
    assert_one_line_error(result, 2, message)
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    JSON_USAGE_ERRORS,
    ids=[" ".join(args) for args, _ in JSON_USAGE_ERRORS],
)
def test_usage_errors_with_json_put_one_error_document_on_stdout(args, message, tmp_path):
    for flagged, env in (([*args, "--json"], {}), (args, {"LLAMA_TELEMETRY_JSON": "1"})):
        result = invoke(*flagged, env=env, cwd=tmp_path)
        assert_one_line_error(result, 2, message)
        assert json.loads(result.stdout) == {"schema_version": 1, "error": message, "exit_code": 2}


def test_a_failure_that_is_not_usage_exits_1_with_its_document(tmp_path):
    (tmp_path / "taken").write_text("a file where a directory is needed\n")
    message = "Could not write to taken/sub: Not a directory. Choose a directory you can write to."
    plain = invoke("render", "--output", "taken/sub", cwd=tmp_path)
    assert_one_line_error(plain, 1, message)
    assert plain.stdout == ""
    document = invoke("render", "--output", "taken/sub", "--json", cwd=tmp_path)
    assert_one_line_error(document, 1, message)
    assert json.loads(document.stdout) == {"schema_version": 1, "error": message, "exit_code": 1}


# ------------------------------------------------------------------------------------------------ status


def report(*unhealthy: str, network_present: bool = True) -> StatusResult:
    """The default project on Docker, every service running and healthy but the ones named."""
    urls = {
        "jaeger": {"jaeger": "http://127.0.0.1:16686"},
        "otel-collector": {
            "otlp-grpc": "http://127.0.0.1:4317",
            "otlp-http": "http://127.0.0.1:4318",
            "collector-health": "http://127.0.0.1:13133",
        },
        "prometheus": {"prometheus": "http://127.0.0.1:9090"},
        "grafana": {"grafana": "http://127.0.0.1:3000"},
    }
    services = [
        ServiceReport(
            name,
            name,
            "exited" if name in unhealthy else "running",
            name not in unhealthy,
            service_urls,
            id=f"{index}" * 64,
            image=f"example.org/{name}:1",
        )
        for index, (name, service_urls) in enumerate(urls.items(), start=1)
    ]
    return StatusResult(
        engine="docker",
        engine_url="unix:///var/run/docker.sock",
        project="default",
        network="llama-telemetry",
        services=services,
        grafana=GrafanaLogin("http://127.0.0.1:3000", "admin"),
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
        network_present=network_present,
        after_reboot=RebootReport(True, "containers have restart policy unless-stopped"),
    )


@pytest.fixture
def engine_reports(monkeypatch):
    """Replace what the engine would report; records each call's (engine, project)."""
    calls: list[tuple] = []

    def answer(result):
        def status(requested, project, ui):
            calls.append((requested, project))
            if isinstance(result, BaseException):
                raise result
            return result

        monkeypatch.setattr(deploy, "status", status)
        return calls

    return answer


def test_status_exits_0_when_every_service_is_healthy(engine_reports, tmp_path):
    calls = engine_reports(report())
    result = invoke("status", cwd=tmp_path)
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout.splitlines()[0] == "Project 'default' on docker (unix:///var/run/docker.sock):"
    assert [line.split()[:3] for line in result.stdout.splitlines()[1:5]] == [
        ["jaeger", "running", "healthy"],
        ["otel-collector", "running", "healthy"],
        ["prometheus", "running", "healthy"],
        ["grafana", "running", "healthy"],
    ]
    assert calls == [(None, "default")]


@pytest.mark.parametrize("unhealthy", [("grafana",), ("jaeger", "prometheus")])
def test_status_exits_3_when_any_service_is_not_healthy(engine_reports, unhealthy, tmp_path):
    engine_reports(report(*unhealthy))
    result = invoke("status", cwd=tmp_path)
    assert (result.code, result.stderr) == (3, "")
    states = {line.split()[0]: line.split()[1:3] for line in result.stdout.splitlines()[1:5]}
    assert {name for name, state in states.items() if state != ["running", "healthy"]} == set(unhealthy)


def test_status_json_is_the_whole_report_and_keeps_the_exit_code(engine_reports, tmp_path):
    engine_reports(report("grafana"))
    result = invoke("status", "--json", "--container", "docker", "--project", "default", cwd=tmp_path)
    assert (result.code, result.stderr) == (3, "")
    document = json.loads(result.stdout)
    assert document == {
        "schema_version": 1,
        "engine": "docker",
        "engine_url": "unix:///var/run/docker.sock",
        "project": "default",
        "network": "llama-telemetry",
        "healthy": False,
        "services": [
            {
                "name": "jaeger",
                "container": "jaeger",
                "state": "running",
                "healthy": True,
                "urls": {"jaeger": "http://127.0.0.1:16686"},
                "id": "111111111111",
                "image": "example.org/jaeger:1",
            },
            {
                "name": "otel-collector",
                "container": "otel-collector",
                "state": "running",
                "healthy": True,
                "urls": {
                    "otlp-grpc": "http://127.0.0.1:4317",
                    "otlp-http": "http://127.0.0.1:4318",
                    "collector-health": "http://127.0.0.1:13133",
                },
                "id": "222222222222",
                "image": "example.org/otel-collector:1",
            },
            {
                "name": "prometheus",
                "container": "prometheus",
                "state": "running",
                "healthy": True,
                "urls": {"prometheus": "http://127.0.0.1:9090"},
                "id": "333333333333",
                "image": "example.org/prometheus:1",
            },
            {
                "name": "grafana",
                "container": "grafana",
                "state": "exited",
                "healthy": False,
                "urls": {"grafana": "http://127.0.0.1:3000"},
                "id": "444444444444",
                "image": "example.org/grafana:1",
            },
        ],
        "grafana": {"url": "http://127.0.0.1:3000", "user": "admin"},
        "env": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
        "network_present": True,
        "after_reboot": {"comes_back": True, "detail": "containers have restart policy unless-stopped", "fix": ""},
    }
    engine_reports(report())
    healthy = invoke("status", "--json", cwd=tmp_path)
    assert healthy.code == 0 and json.loads(healthy.stdout)["healthy"] is True


def test_status_asks_the_engine_and_project_the_user_named(engine_reports, tmp_path):
    calls = engine_reports(report())
    invoke("status", "--container", "podman", "--project", "ci", cwd=tmp_path)
    invoke(
        "status", env={"LLAMA_TELEMETRY_CONTAINER": "docker", "LLAMA_TELEMETRY_PROJECT": "env-project"}, cwd=tmp_path
    )
    (tmp_path / "llama-telemetry.yaml").write_text("container: podman\nproject: file-project\n")
    invoke("status", cwd=tmp_path)
    assert calls == [("podman", "ci"), ("docker", "env-project"), ("podman", "file-project")]


def test_no_engine_is_a_failure_exit_1_with_its_document(engine_reports, tmp_path):
    engine_reports(EngineUnavailable("No container engine answered.", "Start Docker or Podman."))
    plain = invoke("status", cwd=tmp_path)
    assert_one_line_error(plain, 1, "No container engine answered. Start Docker or Podman.")
    assert plain.stdout == ""
    document = invoke("status", "--json", cwd=tmp_path)
    assert_one_line_error(document, 1, "No container engine answered. Start Docker or Podman.")
    assert json.loads(document.stdout) == {
        "schema_version": 1,
        "error": "No container engine answered. Start Docker or Podman.",
        "exit_code": 1,
    }


def test_an_interrupt_exits_130(engine_reports, tmp_path):
    engine_reports(KeyboardInterrupt())
    plain = invoke("status", cwd=tmp_path)
    assert (plain.code, plain.stdout, plain.stderr) == (130, "", "\nInterrupted.\n")
    document = invoke("status", "--json", cwd=tmp_path)
    assert document.code == 130
    assert json.loads(document.stdout) == {"schema_version": 1, "error": "interrupted", "exit_code": 130}
