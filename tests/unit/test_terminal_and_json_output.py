"""When output is a live terminal and when it is plain lines, what --json prints for each command's result, and the
terminal-only views (the endpoints table, the live table while services start), checked against what they show."""

from __future__ import annotations

import json
import re
import sys

import pytest

from telemetry_stack import output
from telemetry_stack.engines.base import PullEvent, RebootReport
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

COLLECTOR = ServiceReport(
    "otel-collector",
    "otel-collector",
    "running",
    True,
    {"otlp-grpc": "http://127.0.0.1:4317", "otlp-http": "http://127.0.0.1:4318"},
    "0123456789abcdef",
    "c:1",
    "created",
)
GRAFANA = ServiceReport("grafana", "grafana", "running", True, {"grafana": "http://127.0.0.1:3000"}, "", "g:1", "")
STACK = dict(
    engine="docker",
    engine_url="unix:///var/run/docker.sock",
    project="default",
    network="llama-telemetry",
    grafana=GrafanaLogin("http://127.0.0.1:3000", "admin"),
    env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
)


class Terminal:
    def __init__(self, tty: bool) -> None:
        self.tty, self.written = tty, []

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.written.append(text)
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize(
    "stdout_tty, stderr_tty, json_output, ci, interactive",
    [
        (True, True, False, False, True),
        (True, True, True, False, False),  # --json: plain, whatever the terminal
        (True, True, False, True, False),  # CI logs get plain lines even on a pseudo-terminal
        (False, True, False, False, False),  # piped
        (True, False, False, False, False),  # stderr redirected
    ],
)
def test_live_views_only_on_a_terminal_outside_ci_and_without_json(
    monkeypatch, stdout_tty, stderr_tty, json_output, ci, interactive
):
    monkeypatch.setattr(sys, "stdout", Terminal(stdout_tty))
    monkeypatch.setattr(sys, "stderr", Terminal(stderr_tty))
    if ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    assert UI(json_output=json_output).interactive is interactive


def _json_out(capsys) -> dict:
    captured = capsys.readouterr()
    assert captured.err == ""
    return json.loads(captured.out)  # stdout is exactly one document


def test_json_up_and_status_print_only_their_document(capsys):
    ui = UI(json_output=True)
    ui.show_up(UpResult(services=[COLLECTOR], grafana_default_password=True, elapsed_seconds=2.5, **STACK))
    up = _json_out(capsys)
    assert up["schema_version"] == 1 and up["elapsed_seconds"] == 2.5 and up["grafana_default_password"] is True
    assert up["services"] == [
        {
            "name": "otel-collector",
            "container": "otel-collector",
            "state": "running",
            "healthy": True,
            "urls": {"otlp-grpc": "http://127.0.0.1:4317", "otlp-http": "http://127.0.0.1:4318"},
            "id": "0123456789ab",
            "image": "c:1",
            "action": "created",
        }
    ]
    ui.show_status(
        StatusResult(services=[GRAFANA], network_present=True, after_reboot=RebootReport(True, "ok"), **STACK)
    )
    status = _json_out(capsys)
    assert status["network_present"] is True and status["after_reboot"] == {
        "comes_back": True,
        "detail": "ok",
        "fix": "",
    }
    assert [s["name"] for s in status["services"]] == ["grafana"]


def test_json_down_doctor_and_demo_print_only_their_document(capsys):
    ui = UI(json_output=True)
    ui.show_down(DownResult("docker", "unix://", "default", ["grafana"], "llama-telemetry", [], ["v1"]))
    assert _json_out(capsys) == {
        "schema_version": 1,
        "engine": "docker",
        "engine_url": "unix://",
        "project": "default",
        "removed_containers": ["grafana"],
        "removed_network": "llama-telemetry",
        "removed_volumes": [],
        "kept_volumes": ["v1"],
    }
    ui.show_doctor(DoctorReport([Check("fail", "port 3000", "taken", "Free it.")]))
    assert _json_out(capsys) == {
        "schema_version": 1,
        "ok": False,
        "checks": [{"status": "fail", "title": "port 3000", "detail": "taken", "fix": "Free it."}],
    }
    ui.show_demo({"requests": 3, "dashboards": []}, StatusResult(services=[], **STACK))
    assert _json_out(capsys) == {"schema_version": 1, "requests": 3, "dashboards": []}


def test_a_terminal_gets_the_endpoints_as_a_table(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "100")
    ui = UI()
    ui.interactive = True
    ui._endpoints(StatusResult(services=[COLLECTOR, GRAFANA], **STACK))
    lines = capsys.readouterr().out.splitlines()
    cells = [[cell.strip() for cell in re.split(r"[│┃]", line)[1:-1]] for line in lines if re.search(r"[│┃]", line)]
    assert cells == [
        ["endpoint", "service", "URL"],
        ["OTLP gRPC", "otel-collector", "http://127.0.0.1:4317"],
        ["OTLP HTTP", "otel-collector", "http://127.0.0.1:4318"],
        ["Grafana", "grafana", "http://127.0.0.1:3000"],
    ]


class Live:
    """rich's Live, recording the tables it would draw."""

    made: list[Live] = []

    def __init__(self, renderable, **options) -> None:
        self.drawn, self.options = [renderable], options
        Live.made.append(self)

    def __enter__(self) -> Live:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def update(self, renderable) -> None:
        self.drawn.append(renderable)


def _rows(table) -> list[tuple[str, str]]:
    service, state = table.columns
    return list(zip(service._cells, state._cells, strict=True))


def test_a_terminal_gets_a_live_table_coloured_by_state_while_services_start(monkeypatch, capsys):
    import rich.live

    monkeypatch.setattr(rich.live, "Live", Live)
    monkeypatch.setattr(Live, "made", [])
    clock = iter([10.0, 10.0, 11.5, 12.0, 12.25])
    monkeypatch.setattr(output.time, "monotonic", lambda: next(clock))
    ui = UI()
    ui.interactive = True
    with ui.wait_progress(["jaeger", "grafana", "prometheus"]) as update:
        update("jaeger", "healthy")
        update("grafana", "exited (exit code 1)")
        update("prometheus", "removed")
    (live,) = Live.made
    assert live.options["transient"] is True  # the table goes once everything is up: the result follows
    assert live.options["console"].file is sys.stdout
    first, *_, last = live.drawn
    assert first.title == "Waiting for services"
    assert [c.header for c in first.columns] == ["service", "state"]
    assert _rows(first) == [
        ("jaeger", "[yellow]starting[/yellow]"),
        ("grafana", "[yellow]starting[/yellow]"),
        ("prometheus", "[yellow]starting[/yellow]"),
    ]
    assert first.caption == "0.0s"
    assert len(live.drawn) == 4
    assert _rows(last) == [
        ("jaeger", "[green]healthy[/green]"),
        ("grafana", "[red]exited (exit code 1)[/red]"),
        ("prometheus", "[red]removed[/red]"),
    ]
    assert last.caption == "2.2s"
    assert capsys.readouterr().out == ""


def test_plain_wait_progress_prints_a_state_once(monkeypatch, capsys):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(output.time, "monotonic", lambda: 5.0)
    with UI().wait_progress(["jaeger"]) as update:
        update("jaeger", "healthy")
        update("jaeger", "healthy")
    assert capsys.readouterr().out == "jaeger: healthy (0.0s)\n"


def test_plain_pull_progress_counts_each_finished_layer_once(monkeypatch, capsys):
    monkeypatch.delenv("CI", raising=False)
    events = [
        PullEvent("a", "Downloading", 10, 100),
        PullEvent("a", "Pull complete", None, None),
        PullEvent("a", "Pull complete", None, None),  # said twice, one layer
        PullEvent("b", "Already exists", None, None),
        PullEvent("c", "Waiting", None, None),  # never finished: not counted
        PullEvent("d", "done", None, None),  # Podman's word
        PullEvent("e", "Download complete", None, None),  # downloaded, not yet extracted
    ]
    UI().pull_progress("docker.io/prom/prometheus:v3", iter(events))
    assert capsys.readouterr().out == (
        "Pulling docker.io/prom/prometheus:v3 ...\nPulled docker.io/prom/prometheus:v3 (3 layers).\n"
    )


def test_status_separates_a_services_urls(monkeypatch, capsys):
    monkeypatch.delenv("CI", raising=False)
    UI().show_status(StatusResult(services=[COLLECTOR], **STACK))
    assert capsys.readouterr().out.splitlines()[1] == (
        "  otel-collector  running    healthy      http://127.0.0.1:4317  http://127.0.0.1:4318"
    )


def test_demo_without_a_grafana_url_still_names_each_dashboards_path(monkeypatch, capsys):
    monkeypatch.delenv("CI", raising=False)
    result = {"requests": 1, "spans": 2, "duration": 1, "dashboards": [{"title": "Overview", "path": "/d/o"}]}
    for grafana in (None, GrafanaLogin(None, "admin")):
        UI().show_demo(result, StatusResult(services=[], **{**STACK, "grafana": grafana}))
        assert capsys.readouterr().out.splitlines()[-1] == f"  {'Overview':<32} Grafana/d/o"
