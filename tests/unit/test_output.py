"""Output without an engine: pull progress (plain and rich), env formats, JSON-only stdout."""

import json

from telemetry_stack.engines.base import PullEvent
from telemetry_stack.output import UI, format_env

EVENTS = [
    PullEvent("abc123def456", "Pulling fs layer"),
    PullEvent("abc123def456", "Downloading", 1024, 4096),
    PullEvent("abc123def456", "Downloading", 4096, 4096),
    PullEvent("abc123def456", "Pull complete"),
    PullEvent("0123456789ab", "Already exists"),
    PullEvent("grafana/grafana:12.4.4", "Pull complete"),
]


def test_plain_pull_progress_is_a_line_per_image(capsys):
    UI().pull_progress("grafana/grafana:12.4.4", iter(EVENTS))
    out = capsys.readouterr().out.splitlines()
    assert out == ["Pulling grafana/grafana:12.4.4 ...", "Pulled grafana/grafana:12.4.4 (3 layers)."]


def test_rich_pull_progress_shows_layers(capsys):
    ui = UI()
    ui.interactive = True  # as on a terminal
    ui.pull_progress("grafana/grafana:12.4.4", iter(EVENTS))
    out = capsys.readouterr().out
    assert "abc123def456" in out and "0123456789ab" in out


def test_json_mode_keeps_stdout_for_the_document(capsys):
    ui = UI(json_output=True)
    ui.info("progress")
    ui.pull_progress("x:1", iter(EVENTS))
    ui.emit_json({"ok": True})
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"ok": True}
    assert "progress" in captured.err


def test_env_formats():
    variables = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SERVICE_NAME": "my app"}
    assert (
        format_env(variables, "shell")
        == "export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318\nexport OTEL_SERVICE_NAME='my app'"
    )
    assert (
        format_env(variables, "dotenv") == "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318\nOTEL_SERVICE_NAME=my app"
    )
    assert json.loads(format_env(variables, "json")) == variables
