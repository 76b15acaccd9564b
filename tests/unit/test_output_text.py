"""What a person reads: every result as plain lines (CI logs, pipes), written out here line by line."""

from __future__ import annotations

import json

import pytest

from telemetry_stack.engines.base import RebootReport
from telemetry_stack.errors import ServiceFailed
from telemetry_stack.output import UI
from telemetry_stack.results import (
    Check,
    DoctorReport,
    DownResult,
    GrafanaLogin,
    ServiceReport,
    StatusResult,
    UpResult,
)

GRAFANA = ServiceReport(
    "grafana", "grafana", "running", True, {"grafana": "http://127.0.0.1:3000"}, "abc", "g:1", "created"
)
COLLECTOR = ServiceReport(
    "otel-collector",
    "otel-collector",
    "running",
    True,
    {"otlp-grpc": "http://127.0.0.1:4317", "otlp-http": "http://127.0.0.1:4318"},
    "def",
    "c:1",
    "unchanged",
)
STACK = dict(
    engine="podman",
    engine_url="unix:///run/podman/podman.sock",
    project="default",
    network="llama-telemetry",
    grafana=GrafanaLogin("http://127.0.0.1:3000", "admin"),
    env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_LOGS_EXPORTER": "none"},
)


@pytest.fixture
def ui(monkeypatch, capsys):
    monkeypatch.delenv("CI", raising=False)
    return UI()  # made after capsys replaced stdout, which is no terminal: plain lines


def test_up_says_what_changed_where_everything_is_and_what_to_export(ui, capsys):
    ui.show_up(UpResult(services=[COLLECTOR, GRAFANA], grafana_default_password=True, elapsed_seconds=3.25, **STACK))
    assert capsys.readouterr().out == (
        "Stack 'default' is healthy on podman: grafana (re)deployed in 3.2s.\n"
        "  OTLP gRPC          http://127.0.0.1:4317\n"
        "  OTLP HTTP          http://127.0.0.1:4318\n"
        "  Grafana            http://127.0.0.1:3000\n"
        "\nGrafana login: admin / admin\n"
        "\nPoint your OGX or Llama Stack app at the collector (and see `llama-telemetry env`):\n"
        "  export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318\n"
        "  export OTEL_LOGS_EXPORTER=none\n"
    )


def test_up_with_nothing_to_do_and_a_set_password(ui, capsys):
    unchanged = ServiceReport(**{**GRAFANA.__dict__, "action": "unchanged"})
    ui.show_up(UpResult(services=[unchanged], grafana_default_password=False, elapsed_seconds=0.5, **STACK))
    out = capsys.readouterr().out
    assert out.startswith("Stack 'default' is healthy on podman: already up to date, nothing changed in 0.5s.\n")
    assert "\nGrafana login: admin / the password you set\n" in out


def test_status_lists_each_service_and_what_a_reboot_does(ui, capsys):
    missing = ServiceReport("jaeger", "", "missing", False, {})
    ui.show_status(
        StatusResult(
            services=[missing, GRAFANA],
            network_present=True,
            after_reboot=RebootReport(False, "podman-restart.service is disabled", "systemctl enable it"),
            **STACK,
        )
    )
    assert capsys.readouterr().out == (
        "Project 'default' on podman (unix:///run/podman/podman.sock):\n"
        "  jaeger          missing    not healthy  \n"
        "  grafana         running    healthy      http://127.0.0.1:3000\n"
        "After a reboot: stays down (podman-restart.service is disabled)\n"
        "  fix: systemctl enable it\n"
    )


@pytest.mark.parametrize("comes_back, verdict", [(True, "comes back"), (None, "unknown")])
def test_status_reboot_verdicts(ui, capsys, comes_back, verdict):
    ui.show_status(StatusResult(services=[], after_reboot=RebootReport(comes_back, "why"), **STACK))
    assert capsys.readouterr().out.splitlines()[-1] == f"After a reboot: {verdict} (why)"


def test_down_says_what_went_and_what_data_stayed(ui, capsys):
    ui.show_down(DownResult("docker", "unix://", "default", ["grafana", "jaeger"], "llama-telemetry", [], ["v1", "v2"]))
    assert capsys.readouterr().out == (
        "Removed 2 container(s): grafana, jaeger.\n"
        "Removed network llama-telemetry.\n"
        "Kept data volumes v1, v2 (remove them with `llama-telemetry down --volumes`).\n"
    )
    ui.show_down(DownResult("docker", "unix://", "default", [], None, ["v1"], []))
    assert capsys.readouterr().out == "Removed 0 container(s).\nRemoved volumes: v1.\n"


def test_doctor_marks_each_finding_and_gives_its_fix(ui, capsys):
    ui.show_doctor(
        DoctorReport([Check("ok", "SELinux", "not enabled"), Check("fail", "port 3000", "taken", "Free it.")])
    )
    assert capsys.readouterr().out == (
        "[ok  ] SELinux: not enabled\n"
        "[FAIL] port 3000: taken\n"
        "       fix: Free it.\n"
        "\nSome checks failed: see the fixes above.\n"
    )
    ui.show_doctor(DoctorReport([Check("warn", "DOCKER_HOST", "refused", "Unset it."), Check("info", "image", "x")]))
    assert capsys.readouterr().out == (
        "[WARN] DOCKER_HOST: refused\n       fix: Unset it.\n[info] image: x\n\nEverything looks fine.\n"
    )


def test_config_rows_line_up(ui, capsys):
    ui.show_config([("project", "default", "default"), ("bind", "127.0.0.1", "flag")], None)
    assert capsys.readouterr().out == (
        f"Config file: (none found)\n  project  {'default':<50}  default\n  bind     {'127.0.0.1':<50}  flag\n"
    )


def test_demo_summary_names_the_dashboards_and_the_traces(ui, capsys):
    result = {
        "requests": 12,
        "spans": 40,
        "duration": 6.2,
        "export_errors": 2,
        "last_export_error": "HTTP 503",
        "service_name": "ogx-demo",
        "dashboards": [{"title": "Overview", "path": "/d/llama-stack-overview"}],
    }
    ui.show_demo(
        result,
        StatusResult(
            services=[GRAFANA, ServiceReport("jaeger", "j", "running", True, {"jaeger": "http://j:1"})], **STACK
        ),
    )
    captured = capsys.readouterr()
    assert captured.out == (
        "Sent 12 synthetic requests and 40 spans in 6s.\n"
        "Open the dashboards:\n"
        f"  {'Overview':<32} http://127.0.0.1:3000/d/llama-stack-overview\n"
        f"  {'Traces in Jaeger':<32} http://j:1/search?service=ogx-demo\n"
    )
    assert captured.err == "warning: 2 exports failed; last error: HTTP 503\n"


def test_demo_progress_prints_every_five_seconds_and_at_the_end(ui, capsys):
    update = ui.demo_progress(20)
    for elapsed in (0.0, 2.0, 5.0, 7.0, 10.5):
        update({"elapsed": elapsed, "requests": int(elapsed), "spans": int(elapsed) * 3})
    update({"elapsed": 11.0, "requests": 11, "spans": 33, "done": True})
    assert capsys.readouterr().err.splitlines() == [
        "demo:    0/20s  0 requests, 0 spans sent",
        "demo:    5/20s  5 requests, 15 spans sent",
        "demo:   10/20s  10 requests, 30 spans sent",
        "demo:   11/20s  11 requests, 33 spans sent",
    ]


def test_wait_progress_prints_a_line_per_change(ui, capsys, monkeypatch):
    from telemetry_stack import output

    clock = iter([100.0, 101.5, 102.25])
    monkeypatch.setattr(output.time, "monotonic", lambda: next(clock))
    with ui.wait_progress(["jaeger", "grafana"]) as update:
        update("jaeger", "starting")  # no change: nothing printed
        update("jaeger", "healthy")
        update("grafana", "exited (exit code 1)")
    assert capsys.readouterr().out == "jaeger: healthy (1.5s)\ngrafana: exited (exit code 1) (2.2s)\n"


def test_quiet_prints_only_errors_and_warnings(ui, capsys):
    quiet = UI(quiet=True)
    quiet.info("info")
    quiet.note("note")
    quiet.warn("careful")
    quiet.error(ServiceFailed("grafana stopped.", "Look at its log.", details="--- last log lines ---"))
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "warning: careful\n--- last log lines ---\nerror: grafana stopped. Look at its log.\n"


def test_notes_go_to_stderr_and_json_is_indented_on_stdout(ui, capsys):
    ui.note("Using docker")
    ui.emit_json({"a": [1]})
    captured = capsys.readouterr()
    assert captured.err == "Using docker\n"
    assert captured.out == json.dumps({"a": [1]}, indent=2) + "\n"
