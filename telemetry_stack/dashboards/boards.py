"""The six boards, each a function returning its dashboard dict, and the files they are written to."""

from __future__ import annotations

import json
from pathlib import Path

from telemetry_stack import catalog as c
from telemetry_stack.dashboards.grafana import (
    ERROR_RATIO,
    JAEGER_LINK,
    LATENCY_NOTE,
    NEUTRAL,
    SCHEMA_VERSION,
    Dashboard,
    Panel,
    _dashboard_links,
    _datasource_variable,
    _latency,
    _layout,
    _legend,
    _only_note,
    _panel_link,
    _query_variable,
    _service_variable,
    _target,
    _trace_service_variable,
    stat,
    table,
    timeseries,
)
from telemetry_stack.dashboards.promql import (
    NOT_SUCCESS,
    _average,
    _by,
    _error_ratio,
    _increase,
    _observations,
    _quantile,
    _rate,
    _selector,
    _sum_rate,
)

TAGS = ["llama-stack", "llama-telemetry"]


# --- what every board shares ---------------------------------------------------------


def _model_provider_variables() -> list[dict]:
    inst = c.INFERENCE_DURATION
    return [
        _query_variable("model", "Model", inst),
        _query_variable("provider", "Provider", inst, ["model"]),
    ]


def _dashboard(slug: str, title: str, description: str, variables: list[dict], panels: list[Panel]) -> Dashboard:
    return {
        "uid": slug,
        "title": title,
        "description": description,
        "tags": list(TAGS),
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "links": _dashboard_links(),
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "templating": {"list": [_datasource_variable(), _service_variable(), _trace_service_variable(), *variables]},
        "panels": _layout(panels),
    }


# --- the dashboards --------------------------------------------------------------------

PCT = (0.5, 0.95, 0.99)
SERVERS_NOTE = "OGX 1.x and Llama Stack 0.7.x"


def overview() -> Dashboard:
    req, http_old, http_new = c.REQUESTS, c.HTTP_SERVER_DURATION, c.HTTP_SERVER_REQUEST_DURATION
    tokens, active = c.GEN_AI_TOKEN_USAGE, c.HTTP_SERVER_ACTIVE_REQUESTS
    inf_vars = ("model", "provider")
    http_latency = []
    for q in (0.95, 0.99):
        # Older semconv records milliseconds: convert so both land on one seconds axis.
        http_latency.append(_target(f"{_quantile(q, http_old)} / 1000", f"p{round(q * 100)} ({http_old.name})"))
        http_latency.append(_target(_quantile(q, http_new), f"p{round(q * 100)} ({http_new.name})"))
    # The dashboards' server's documented token queries, kept verbatim (a test checks they are on
    # the overview): they alone ignore $service; "Token rate by model" honours it.
    input_q, output_q = c.DOCUMENTED_QUERIES[c.DASHBOARD_SERVER.key][:2]
    vector_counters = (c.VECTOR_INSERTS, c.VECTOR_QUERIES, c.VECTOR_DELETES)
    vector_ops = " + ".join(f"({_rate(i)} or vector(0))" for i in vector_counters)
    panels = [
        stat(
            "Total requests",
            _increase(req),
            "short",
            thresholds=NEUTRAL,
            decimals=0,
            description="API requests in the selected time range.",
            links=[_panel_link("Requests dashboard", "llama-stack-requests")],
        ),
        stat(
            "Request rate",
            _rate(req),
            "reqps",
            thresholds=NEUTRAL,
            links=[_panel_link("Requests dashboard", "llama-stack-requests")],
        ),
        stat(
            "Error rate",
            _error_ratio(_rate(req, matchers=[NOT_SUCCESS]), _rate(req)),
            "percentunit",
            thresholds=ERROR_RATIO,
            description="Share of API requests whose status is not success (orange from 1 %, red from 5 %).",
        ),
        stat(
            "Active HTTP requests",
            f"sum({_selector(active.name_pattern(), active)})",
            "short",
            thresholds=NEUTRAL,
            decimals=0,
            description="HTTP requests in flight (auto-instrumentation).",
        ),
        stat(
            "Inference requests/s",
            _observations(c.INFERENCE_DURATION, inf_vars),
            "reqps",
            thresholds=NEUTRAL,
            links=[_panel_link("Inference dashboard", "llama-stack-inference")],
        ),
        stat(
            "Tool invocations/s",
            _rate(c.TOOL_INVOCATIONS),
            "ops",
            thresholds=NEUTRAL,
            links=[_panel_link("Tool runtime dashboard", "llama-stack-tool-runtime")],
        ),
        stat(
            "Vector IO operations/s",
            vector_ops,
            "ops",
            thresholds=NEUTRAL,
            description="Inserts + queries + deletes per second.",
            links=[_panel_link("Vector IO dashboard", "llama-stack-vector-io")],
        ),
        stat(
            "Responses API parameters/s",
            _rate(c.RESPONSES_PARAMETER_USAGE),
            "ops",
            thresholds=NEUTRAL,
            links=[_panel_link("Responses API dashboard", "llama-stack-responses")],
        ),
        timeseries(
            "Token usage by model",
            [
                _target(input_q, _legend(tokens, "gen_ai.request.model", prefix="input")),
                _target(output_q, _legend(tokens, "gen_ai.request.model", prefix="output")),
            ],
            "short",
            description="Cumulative input and output tokens (GenAI client "
            f"auto-instrumentation), as in {c.DASHBOARD_SERVER.title}'s documentation.",
        ),
        timeseries(
            "Token rate by model",
            [
                _target(
                    _sum_rate(tokens, by=["gen_ai.request.model", "gen_ai.token.type"]),
                    _legend(tokens, "gen_ai.request.model", "gen_ai.token.type"),
                ),
            ],
            "short",
            description="Tokens per second, by model and token type.",
        ),
        timeseries(
            "HTTP server latency p95 / p99",
            http_latency,
            "s",
            description="Works with either HTTP semantic convention: the older "
            "millisecond histogram is converted to seconds.",
            links=[JAEGER_LINK],
        ),
        timeseries(
            "Requests and errors",
            [
                _target(_rate(req), "requests"),
                _target(_rate(req, matchers=[NOT_SUCCESS]), "errors (status != success)"),
                _target(
                    _observations(http_old, matchers=[("http.status_code", "=~", "5..")]),
                    "HTTP 5xx (" + http_old.name + ")",
                ),
                _target(
                    _observations(http_new, matchers=[("http.response.status_code", "=~", "5..")]),
                    "HTTP 5xx (" + http_new.name + ")",
                ),
            ],
            "reqps",
        ),
        timeseries(
            "Inference latency by model (average)",
            [
                _target(_average(c.INFERENCE_DURATION, inf_vars, by=["model"]), _legend(c.INFERENCE_DURATION, "model")),
            ],
            "s",
            description="The exact average; see the Inference dashboard for percentiles.",
            links=[_panel_link("Inference dashboard", "llama-stack-inference"), JAEGER_LINK],
        ),
        timeseries(
            "Request rate by API",
            [
                _target(_rate(req, by=["api"]), _legend(req, "api")),
            ],
            "reqps",
            links=[_panel_link("Requests dashboard", "llama-stack-requests")],
        ),
    ]
    return _dashboard(
        "llama-stack-overview",
        "Llama Stack / Overview",
        f"Tokens, HTTP latency, request and error rates across {SERVERS_NOTE} servers.",
        _model_provider_variables(),
        panels,
    )


def inference() -> Dashboard:
    dur, ttft, tps = (c.INFERENCE_DURATION, c.INFERENCE_TIME_TO_FIRST_TOKEN, c.INFERENCE_TOKENS_PER_SECOND)
    model_type = c.INFERENCE_MODEL_TYPE_USED
    v = ("model", "provider")
    by_mp = ["model", "provider"]
    requests = _observations(dur, v)
    errors = _observations(dur, v, [NOT_SUCCESS])
    panels = [
        stat("Inference requests/s", requests, "reqps", thresholds=NEUTRAL),
        stat(
            "Average latency",
            _average(dur, v),
            "s",
            thresholds=NEUTRAL,
            description="Exact average inference duration.",
        ),
        stat(
            "Average time to first token",
            _average(ttft, v),
            "s",
            thresholds=NEUTRAL,
            description="Exact average, streaming requests only.",
        ),
        stat("Error rate", _error_ratio(errors, requests), "percentunit", thresholds=ERROR_RATIO),
        timeseries(
            "Latency: average, p50 / p95 / p99",
            _latency(dur, PCT, v),
            "s",
            description="End-to-end inference duration. " + LATENCY_NOTE,
            links=[JAEGER_LINK],
        ),
        timeseries(
            "Time to first token: average, p50 / p95 (streaming)",
            _latency(ttft, (0.5, 0.95), v),
            "s",
            description="Recorded for streaming requests only. " + LATENCY_NOTE,
        ),
        timeseries(
            "Average latency by model and provider",
            [
                _target(_average(dur, v, by=by_mp), _legend(dur, *by_mp)),
            ],
            "s",
        ),
        timeseries(
            "Average time to first token by model and provider",
            [
                _target(_average(ttft, v, by=by_mp), _legend(ttft, *by_mp)),
            ],
            "s",
        ),
        timeseries(
            "Tokens per second by model and provider",
            [
                _target(_average(tps, v, by=by_mp), _legend(tps, *by_mp, prefix="mean")),
            ],
            "short",
            description="Mean output token throughput (completion tokens / duration).",
        ),
        timeseries(
            "Requests by model and provider",
            [
                _target(_observations(dur, v, by=by_mp), _legend(dur, *by_mp)),
            ],
            "reqps",
        ),
        timeseries(
            "Success vs error rate",
            [
                _target(_observations(dur, v, by=["status"]), _legend(dur, "status")),
            ],
            "reqps",
        ),
        timeseries(
            "Error rate by model and provider",
            [
                _target(
                    _error_ratio(_observations(dur, v, [NOT_SUCCESS], by=by_mp), _observations(dur, v, by=by_mp)),
                    _legend(dur, *by_mp),
                ),
            ],
            "percentunit",
        ),
        timeseries(
            "Inference calls by model type",
            [
                _target(_rate(model_type, v, by=["type"]), _legend(model_type, "type")),
            ],
            "ops",
            description=_only_note(model_type) + "Completion, embedding and reranker calls.",
            w=24,
        ),
    ]
    return _dashboard(
        "llama-stack-inference",
        "Llama Stack / Inference",
        "Inference latency, time to first token, throughput and errors.",
        _model_provider_variables(),
        panels,
    )


def requests() -> Dashboard:
    req, dur, conc = c.REQUESTS, c.REQUEST_DURATION, c.CONCURRENT_REQUESTS
    v = ("api", "method")
    rate_all = _rate(req, v)
    concurrent = _selector(conc.name_pattern(), conc, ["api"])
    panels = [
        stat("Request rate", rate_all, "reqps", thresholds=NEUTRAL),
        stat("Error rate", _error_ratio(_rate(req, v, [NOT_SUCCESS]), rate_all), "percentunit", thresholds=ERROR_RATIO),
        stat("Concurrent requests", f"sum({concurrent})", "short", thresholds=NEUTRAL, decimals=0),
        stat(
            "Average latency",
            _average(dur, v),
            "s",
            thresholds=NEUTRAL,
            description="Exact average API request duration.",
        ),
        timeseries("Request rate by API", [_target(_rate(req, v, by=["api"]), _legend(req, "api"))], "reqps"),
        timeseries(
            "Request rate by API method",
            [
                _target(_rate(req, v, by=["api", "method"]), _legend(req, "api", "method")),
            ],
            "reqps",
        ),
        timeseries(
            "Errors by API and status code",
            [
                _target(_rate(req, v, [NOT_SUCCESS], by=["api", "status_code"]), _legend(req, "api", "status_code")),
            ],
            "reqps",
        ),
        timeseries(
            "Concurrent requests by API",
            [
                _target(f"{_by(conc, ['api'])}({concurrent})", _legend(conc, "api")),
            ],
            "short",
        ),
        timeseries(
            "Latency: average, p50 / p95 / p99",
            _latency(dur, PCT, v),
            "s",
            description=LATENCY_NOTE,
            links=[JAEGER_LINK],
        ),
        timeseries(
            "Average latency by API method",
            [
                _target(_average(dur, v, by=["api", "method"]), _legend(dur, "api", "method")),
            ],
            "s",
        ),
    ]
    variables = [
        _query_variable("api", "API", req),
        _query_variable("method", "Method", req, ["api"]),
    ]
    return _dashboard(
        "llama-stack-requests",
        "Llama Stack / Requests",
        "API request rate, errors, concurrency and latency by API and method.",
        variables,
        panels,
    )


def responses() -> Dashboard:
    use, tool_types, agentic = (c.RESPONSES_PARAMETER_USAGE, c.RESPONSES_TOOL_TYPES_USED, c.RESPONSES_AGENTIC_CALLS)
    v = ("operation", "parameter")
    selected = _selector(use.name_pattern(), use, v)
    panels = [
        stat("Parameter uses/s", _rate(use, v), "ops", thresholds=NEUTRAL),
        stat("Parameter uses in range", _increase(use, v), "short", thresholds=NEUTRAL, decimals=0),
        stat(
            "Distinct parameters used",
            f"count({_by(use, ['parameter'])}({selected}))",
            "short",
            thresholds=NEUTRAL,
            decimals=0,
        ),
        stat(
            "Agentic calls/s",
            _rate(agentic),
            "ops",
            thresholds=NEUTRAL,
            description=_only_note(agentic) + "Responses API calls that include tools.",
        ),
        timeseries(
            "Parameter usage by parameter",
            [
                _target(_rate(use, v, by=["parameter"]), _legend(use, "parameter")),
            ],
            "ops",
        ),
        timeseries(
            "Parameter usage by operation",
            [
                _target(_rate(use, v, by=["operation"]), _legend(use, "operation")),
            ],
            "ops",
        ),
        timeseries(
            "Tool types used",
            [
                _target(_rate(tool_types, by=["tool_type"]), _legend(tool_types, "tool_type")),
            ],
            "ops",
            description=_only_note(tool_types)
            + "web_search, file_search, function, mcp: counted once per type per call.",
        ),
        timeseries("Agentic calls", [_target(_rate(agentic), "agentic calls")], "ops", description=_only_note(agentic)),
        table(
            "Parameter usage in range by operation and parameter",
            _increase(use, v, by=["operation", "parameter"]),
            "short",
            description="Which optional Responses API parameters callers set explicitly.",
        ),
    ]
    variables = [
        _query_variable("operation", "Operation", use),
        _query_variable("parameter", "Parameter", use, ["operation"]),
    ]
    return _dashboard(
        "llama-stack-responses",
        "Llama Stack / Responses API",
        "Which optional Responses API parameters and tool types are used, by operation.",
        variables,
        panels,
    )


def tool_runtime() -> Dashboard:
    inv, dur = c.TOOL_INVOCATIONS, c.TOOL_DURATION
    v = ("tool_group", "tool_name", "provider")
    tool = ["tool_group", "tool_name"]
    panels = [
        stat("Invocations/s", _rate(inv, v), "ops", thresholds=NEUTRAL),
        stat(
            "Error rate",
            _error_ratio(_rate(inv, v, [NOT_SUCCESS]), _rate(inv, v)),
            "percentunit",
            thresholds=ERROR_RATIO,
        ),
        stat(
            "Average latency",
            _average(dur, v),
            "s",
            thresholds=NEUTRAL,
            description="Exact average tool invocation duration.",
        ),
        stat("Invocations in range", _increase(inv, v), "short", thresholds=NEUTRAL, decimals=0),
        timeseries(
            "Invocation rate by tool",
            [
                _target(_rate(inv, v, by=tool), _legend(inv, *tool)),
            ],
            "ops",
        ),
        timeseries(
            "Invocations by status",
            [
                _target(_rate(inv, v, by=["status"]), _legend(inv, "status")),
            ],
            "ops",
        ),
        timeseries(
            "Latency: average, p50 / p95 / p99",
            _latency(dur, PCT, v),
            "s",
            description=LATENCY_NOTE,
            links=[JAEGER_LINK],
        ),
        timeseries(
            "Average latency by tool",
            [
                _target(_average(dur, v, by=tool), _legend(dur, *tool)),
            ],
            "s",
        ),
        timeseries(
            "Errors by provider",
            [
                _target(_rate(inv, v, [NOT_SUCCESS], by=["provider"]), _legend(inv, "provider")),
            ],
            "ops",
        ),
        timeseries(
            "Errors by tool",
            [
                _target(_rate(inv, v, [NOT_SUCCESS], by=tool), _legend(inv, *tool)),
            ],
            "ops",
        ),
    ]
    variables = [
        _query_variable("tool_group", "Tool group", inv),
        _query_variable("tool_name", "Tool", inv, ["tool_group"]),
        _query_variable("provider", "Provider", inv),
    ]
    return _dashboard(
        "llama-stack-tool-runtime",
        "Llama Stack / Tool Runtime",
        "Tool invocation rate, latency and errors by tool group, tool and provider.",
        variables,
        panels,
    )


def vector_io() -> Dashboard:
    v = ("vector_db", "provider")
    ins, qry, dele = c.VECTOR_INSERTS, c.VECTOR_QUERIES, c.VECTOR_DELETES
    stores, files, chunks = c.VECTOR_STORES, c.VECTOR_FILES, c.VECTOR_CHUNKS_PROCESSED
    docs = c.VECTOR_DOCUMENTS_RETRIEVED
    ins_dur, ret_dur = c.VECTOR_INSERT_DURATION, c.VECTOR_RETRIEVAL_DURATION
    with_status = {"inserts": ins, "queries": qry, "deletes": dele, "files": files}
    successful_queries = _rate(qry, v, [("status", "=", "success")])
    panels = [
        stat("Inserts/s", _rate(ins, v), "ops", thresholds=NEUTRAL),
        stat("Queries/s", _rate(qry, v), "ops", thresholds=NEUTRAL),
        stat("Average insert latency", _average(ins_dur, v), "s", thresholds=NEUTRAL),
        stat("Average retrieval latency", _average(ret_dur, v), "s", thresholds=NEUTRAL),
        timeseries(
            "Insert / query / delete rate",
            [
                _target(_rate(ins, v), "inserts"),
                _target(_rate(qry, v), "queries"),
                _target(_rate(dele, v), "deletes"),
            ],
            "ops",
        ),
        timeseries(
            "Chunks processed",
            [
                _target(_rate(chunks, v, by=["operation"]), _legend(chunks, "operation")),
            ],
            "ops",
        ),
        timeseries("Insert latency: average, p50 / p95 / p99", _latency(ins_dur, PCT, v), "s"),
        timeseries("Retrieval latency: average, p50 / p95 / p99", _latency(ret_dur, PCT, v), "s", links=[JAEGER_LINK]),
        timeseries(
            "Retrieval latency p95 by search mode",
            [
                _target(_quantile(0.95, ret_dur, v, by=["search_mode"]), _legend(ret_dur, "search_mode")),
            ],
            "s",
        ),
        timeseries(
            "Documents retrieved per query",
            [
                _target(f"{_rate(docs, v)} / {successful_queries}", "documents per query"),
                _target(_rate(docs, v, by=["search_mode"]), _legend(docs, "search_mode", prefix="documents/s")),
            ],
            "short",
            description=_only_note(docs) + "Chunks returned per successful query, and per second.",
        ),
        timeseries(
            "Stores created and files attached",
            [
                _target(_rate(stores, ["provider"], by=["operation"]), _legend(stores, "operation", prefix="stores")),
                _target(_rate(files, v, by=["operation"]), _legend(files, "operation", prefix="files")),
            ],
            "ops",
        ),
        timeseries(
            "Errors by provider",
            [
                _target(_rate(inst, v, [NOT_SUCCESS], by=["provider"]), _legend(inst, "provider", prefix=name))
                for name, inst in with_status.items()
            ],
            "ops",
            w=24,
        ),
    ]
    variables = [
        _query_variable("vector_db", "Vector DB", ins_dur),
        _query_variable("provider", "Provider", ins_dur),
    ]
    return _dashboard(
        "llama-stack-vector-io",
        "Llama Stack / Vector IO",
        "Vector store inserts, queries, deletes, chunks, documents retrieved, latency and errors.",
        variables,
        panels,
    )


_BUILDERS = {
    "llama-stack-overview": overview,
    "llama-stack-inference": inference,
    "llama-stack-requests": requests,
    "llama-stack-responses": responses,
    "llama-stack-tool-runtime": tool_runtime,
    "llama-stack-vector-io": vector_io,
}
SLUGS: tuple[str, ...] = tuple(_BUILDERS)


def build_all() -> dict[str, Dashboard]:
    """Every dashboard, keyed by slug (which is also its uid and file name)."""
    return {slug: build() for slug, build in _BUILDERS.items()}


def render(dashboard: Dashboard) -> str:
    """The JSON text written to ``dashboards/<slug>.json``."""
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def build_with_logs() -> dict[str, Dashboard]:
    """The six, and the logs board Grafana gets only with `up --logs` (it reads Loki, not Prometheus)."""
    from telemetry_stack.dashboards import logs

    return {**build_all(), logs.SLUG: logs.logs()}


def write_all(directory: str | Path) -> list[Path]:
    """Write every dashboard to ``directory/<slug>.json``; return the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for slug, dashboard in build_with_logs().items():
        path = directory / f"{slug}.json"
        path.write_text(render(dashboard), encoding="utf-8")
        written.append(path)
    return written
