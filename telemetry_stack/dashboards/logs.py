"""The logs board (with `up --logs` only): GenAI events and app logs from Loki, each linked to its trace.

Loki keeps an OTLP record's resource attribute service.name as the stream label `service_name`, and its
other attributes as structured metadata with dots made underscores: the collector copies a GenAI event's
name into the attribute event.name, so it is `event_name` here; the model is `gen_ai_request_model` on the
events that carry one (gen_ai.client.inference.operation.details, under the latest GenAI conventions).
"""

from __future__ import annotations

from telemetry_stack.dashboards.grafana import Dashboard, Panel, _layout, _panel

LOKI_DATASOURCE_UID = "llama-telemetry-loki"
LOKI = {"type": "loki", "uid": LOKI_DATASOURCE_UID}
SLUG = "llama-stack-logs"

SERVICE_SELECTOR = '{service_name=~"$service"}'
GENAI_EVENTS = f'{SERVICE_SELECTOR} | event_name=~"gen_ai[.].+"'


def _loki_target(expr: str, legend: str = "") -> dict:
    target = {"datasource": LOKI, "editorMode": "code", "expr": expr, "queryType": "range"}
    if legend:
        target["legendFormat"] = legend
    return target


def _loki_panel(kind: str, title: str, expr: str, *, legend: str = "", w: int, h: int, description: str) -> Panel:
    panel = _panel(kind, title, [_loki_target(expr, legend)], "short", w=w, h=h, description=description)
    panel["datasource"] = LOKI
    return panel


def _counted(by: str) -> str:
    return f"sum by ({by}) (count_over_time({GENAI_EVENTS} [$__auto]))"


def logs() -> Dashboard:
    panels = [
        _loki_panel(
            "timeseries",
            "GenAI events by model",
            _counted("gen_ai_request_model"),
            legend="{{gen_ai_request_model}}",
            w=12,
            h=8,
            description="GenAI log events per interval, by the model they name (events without one: no label).",
        ),
        _loki_panel(
            "timeseries",
            "GenAI events by name",
            _counted("event_name"),
            legend="{{event_name}}",
            w=12,
            h=8,
            description="gen_ai.user.message, gen_ai.choice, ... per interval.",
        ),
        _loki_panel(
            "logs",
            "GenAI events",
            GENAI_EVENTS,
            w=24,
            h=12,
            description="Prompts and responses as the app sent them (empty bodies with --redact-content). "
            "A line's trace_id opens its trace in Jaeger.",
        ),
        _loki_panel(
            "logs",
            "All logs",
            SERVICE_SELECTOR,
            w=24,
            h=12,
            description="Every log record of the selected services.",
        ),
    ]
    service = {
        "name": "service",
        "label": "Service",
        "type": "query",
        "datasource": LOKI,
        "query": {"label": "service_name", "stream": "", "type": 1},
        "definition": "label_values(service_name)",
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".+",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }
    from telemetry_stack.dashboards.boards import _dashboard

    board = _dashboard(
        SLUG,
        "Llama Stack / Logs",
        "GenAI events (prompts, responses, tool calls) and app logs from Loki, for OGX 1.x and Llama Stack 0.7.x "
        "apps that export logs (llama-telemetry up --logs).",
        [],
        [],
    )
    board["templating"] = {"list": [service]}
    board["panels"] = _layout(panels)
    return board
