"""Synthetic OGX / Llama Stack telemetry, for seeing the dashboards without a server.

Two halves:

* a pure, seeded generator (:class:`EventGenerator`) that invents OGX / Llama Stack
  requests -- chat completions (streaming or not), Responses API calls with
  tool calls and vector searches, direct tool invocations, vector store
  inserts/searches/deletes, model listings -- and describes each as
  :class:`MetricEvent` objects (which catalog instrument, what value, which
  attributes) plus a tree of :class:`SpanEvent` objects.  It needs nothing but
  the standard library and :mod:`telemetry_stack.catalog`, so tests can drive
  the same events through any OpenTelemetry reader;
* the SDK half (:class:`MetricRecorder`, :func:`make_meter_provider`,
  :func:`emit_spans`, :func:`run_demo`) that turns those events into
  OpenTelemetry measurements and spans and exports them over OTLP/HTTP, the
  way an OGX or Llama Stack server run under ``opentelemetry-instrument`` does,
  with that server's instrument names (:class:`~telemetry_stack.catalog.Server`).

Instrument names, kinds, units and attribute names all come from the catalog;
attribute values are bound to a catalog instrument's attributes in the order
the catalog lists them (:func:`_bind`).  The OpenTelemetry packages are
imported only when the SDK half is used; without them :func:`run_demo`
raises :class:`~telemetry_stack.errors.TelemetryError` saying what to install.

The demo emits both HTTP semantic conventions at once (as a server run with
``OTEL_SEMCONV_STABILITY_OPT_IN=http/dup`` does), so every dashboard panel has
data.  Its histograms have the real servers' buckets (the catalog's explicit
ones, else the SDK's defaults), so the latency panels show what a real server
shows; like a real server it sends exponential histograms instead when
``OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`` asks for them.
"""

from __future__ import annotations

import functools
import logging
import math
import random
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from telemetry_stack import catalog as c
from telemetry_stack.catalog import Instrument
from telemetry_stack.errors import TelemetryError, UsageError

__all__ = [
    "DEFAULT_DURATION",
    "DEFAULT_RATE",
    "DEFAULT_SERVER",
    "default_service_name",
    "EXPORT_INTERVAL_SECONDS",
    "INSTALL_HINT",
    "MetricEvent",
    "SpanEvent",
    "DemoRequest",
    "EventGenerator",
    "generate_requests",
    "dashboards_to_open",
    "normalize_endpoint",
    "MetricRecorder",
    "make_meter_provider",
    "emit_spans",
    "run_demo",
]

INSTALL_HINT = "pip install 'llama-telemetry[demo]'"
DEFAULT_DURATION = 60.0
DEFAULT_RATE = 2.0
DEFAULT_SERVER = c.OGX
EXPORT_INTERVAL_SECONDS = 1.0
MAX_RATE = 500.0
EXPORT_TIMEOUT_SECONDS = 5.0

SUCCESS, ERROR = "success", "error"


# --- what an OGX / Llama Stack deployment might serve ------------------------------------------


@dataclass(frozen=True)
class Model:
    id: str
    provider: str
    system: str           # gen_ai.system
    host: str             # server.address of the provider
    tokens_per_second: float
    first_token: float    # median time to first token, seconds


@dataclass(frozen=True)
class Tool:
    group: str
    name: str
    provider: str
    latency: float        # median, seconds
    type: str             # its Responses API tool type (OGX's tool_types_used_total)


@dataclass(frozen=True)
class VectorStore:
    id: str
    provider: str
    latency: float        # median query latency, seconds


@dataclass(frozen=True)
class Route:
    api: str
    method: str
    http_method: str
    path: str


MODELS: tuple[Model, ...] = (
    Model("meta-llama/Llama-3.2-3B-Instruct", "ollama", "ollama", "localhost", 42.0, 0.18),
    Model("meta-llama/Llama-3.1-8B-Instruct", "vllm", "vllm", "vllm.internal", 95.0, 0.07),
    Model("meta-llama/Llama-3.3-70B-Instruct", "fireworks", "fireworks",
          "api.fireworks.ai", 58.0, 0.32),
    Model("gpt-4o-mini", "openai", "openai", "api.openai.com", 80.0, 0.28),
)

TOOLS: tuple[Tool, ...] = (
    Tool("builtin::websearch", "web_search", "tavily-search", 0.9, "web_search"),
    Tool("builtin::rag", "knowledge_search", "rag-runtime", 0.15, "file_search"),
    Tool("mcp::github", "search_repositories", "model-context-protocol", 0.45, "mcp"),
    Tool("mcp::weather", "get_forecast", "model-context-protocol", 0.3, "mcp"),
)
RAG_TOOL = TOOLS[1]

VECTOR_STORES: tuple[VectorStore, ...] = (
    VectorStore("vs_product_docs", "faiss", 0.012),
    VectorStore("vs_support_tickets", "sqlite-vec", 0.03),
    VectorStore("vs_research_papers", "milvus", 0.02),
)
SEARCH_MODES = ("vector", "keyword", "hybrid")

RESPONSE_PARAMETERS: dict[str, tuple[tuple[str, float], ...]] = {
    # operation -> (optional parameter, probability a caller sets it)
    "create_response": (
        ("instructions", 0.7), ("temperature", 0.55), ("max_output_tokens", 0.4),
        ("tools", 0.6), ("store", 0.3), ("previous_response_id", 0.25), ("top_p", 0.15),
        ("tool_choice", 0.12), ("include", 0.1), ("text", 0.1), ("metadata", 0.08),
    ),
    "list_responses": (("limit", 0.8), ("order", 0.5), ("after", 0.3), ("model", 0.2)),
}

ROUTES: dict[str, Route] = {
    "chat": Route("inference", "openai_chat_completion", "POST", "/v1/chat/completions"),
    "responses": Route("responses", "create_openai_response", "POST", "/v1/responses"),
    "list_responses": Route("responses", "list_openai_responses", "GET", "/v1/responses"),
    "tool": Route("tool_runtime", "invoke_tool", "POST", "/v1/tool-runtime/invoke"),
    "vector_search": Route("vector_io", "openai_search_vector_store", "POST",
                           "/v1/vector_stores/{vector_store_id}/search"),
    "vector_insert": Route("vector_io", "insert_chunks", "POST", "/v1/vector-io/insert"),
    "attach_file": Route("vector_io", "openai_attach_file_to_vector_store", "POST",
                         "/v1/vector_stores/{vector_store_id}/files"),
    "delete_file": Route("vector_io", "openai_delete_vector_store_file", "DELETE",
                         "/v1/vector_stores/{vector_store_id}/files/{file_id}"),
    "create_store": Route("vector_io", "openai_create_vector_store", "POST", "/v1/vector_stores"),
    "delete_store": Route("vector_io", "openai_delete_vector_store", "DELETE",
                          "/v1/vector_stores/{vector_store_id}"),
    "list_models": Route("models", "openai_list_models", "GET", "/v1/models"),
}

# Relative frequency of each kind of request after the warm-up.
WEIGHTS: dict[str, float] = {
    "chat": 40, "responses": 18, "list_responses": 3, "tool": 8, "vector_search": 12,
    "vector_insert": 6, "attach_file": 4, "delete_file": 2, "create_store": 2,
    "delete_store": 1, "list_models": 4,
}

# The warm-up sends every kind of request once succeeding and once failing (chat both
# streaming and not), so a few seconds of demo fill every panel, error panels included.
WARMUP: tuple[tuple[str, bool, dict], ...] = tuple(
    [(kind, False, {}) for kind in WEIGHTS] + [("chat", False, {"stream": True}),
                                               ("chat", False, {"stream": False})]
    + [(kind, True, {}) for kind in WEIGHTS] + [("chat", True, {"stream": True}),
                                                ("chat", True, {"stream": False})]
)

SERVER_ERROR_CODES = (500, 502, 503, 504)
SCOPE_NAMES = {  # meter (instrumentation scope) per catalog domain of auto-instrumentation
    "gen_ai": "opentelemetry.instrumentation.openai_v2",
    "http": "opentelemetry.instrumentation.fastapi",
}
SERVER_SCOPES = {"requests": "server"}  # the servers' meters are <namespace>.<domain>, requests on .server
SPAN_KINDS = ("server", "client", "internal")


# --- the events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricEvent:
    """One measurement: ``value`` added to (or recorded in) ``instrument`` with ``attributes``."""

    instrument: Instrument
    value: float
    attributes: Mapping[str, str | int]


@dataclass(frozen=True)
class SpanEvent:
    """A span of a synthetic request; times are seconds after the request started."""

    name: str
    kind: str
    start: float
    duration: float
    attributes: Mapping[str, str | int | float | bool | tuple[str, ...]]
    error: str | None = None
    children: tuple[SpanEvent, ...] = ()

    @property
    def end(self) -> float:
        return self.start + self.duration

    def walk(self) -> Iterator[SpanEvent]:
        """This span and all its descendants, parents first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class DemoRequest:
    """One synthetic API request: its metric events and its trace."""

    index: int
    kind: str
    route: Route
    status_code: int
    duration: float
    metrics: tuple[MetricEvent, ...]
    span: SpanEvent

    @property
    def failed(self) -> bool:
        return self.status_code >= 400

    @property
    def span_count(self) -> int:
        return sum(1 for _ in self.span.walk())


def _bind(inst: Instrument, *values: str | int | None) -> dict[str, str | int]:
    """Attributes of ``inst`` from values given in the catalog's attribute order.

    ``None`` leaves an attribute out (as the servers do, e.g. no search mode on inserts).
    """
    if len(values) != len(inst.attributes):
        raise ValueError(f"{inst.name} has {len(inst.attributes)} attributes, got {len(values)}")
    return {name: value for name, value in zip(inst.attributes, values, strict=True)
            if value is not None}


def _event(inst: Instrument, value: float, *values: str | int | None) -> MetricEvent:
    return MetricEvent(inst, value, _bind(inst, *values))


def _status(failed: bool) -> str:
    return ERROR if failed else SUCCESS


class _Builder:
    """Collects the metric events of one request while its clock ``t`` advances."""

    def __init__(self, start: float) -> None:
        self.t = start
        self.metrics: list[MetricEvent] = []
        self.store: VectorStore | None = None  # the vector store the request is about

    def add(self, inst: Instrument, value: float, *values: str | int | None) -> None:
        self.metrics.append(_event(inst, value, *values))


class EventGenerator:
    """An endless, seeded stream of :class:`DemoRequest` objects.

    The first ``len(WARMUP)`` requests cover every kind of request, succeeding and
    failing; after that kinds are drawn by :data:`WEIGHTS` and about ``error_rate``
    of them fail.  Equal seeds give equal streams.
    """

    def __init__(self, seed: int | None = 0, error_rate: float = 0.06) -> None:
        self.rng = random.Random(seed)
        self.error_rate = error_rate
        self.index = 0
        # Requests "in flight" (api, http method): the up-down counters' running level.
        self._in_flight: deque[tuple[str, str]] = deque()

    def __iter__(self) -> Iterator[DemoRequest]:
        while True:
            yield self.next_request()

    # -- helpers -------------------------------------------------------------------------

    def _lognormal(self, median: float, sigma: float, low: float, high: float) -> float:
        return min(high, max(low, self.rng.lognormvariate(math.log(median), sigma)))

    def _error_code(self, *extra: int) -> int:
        return self.rng.choice(SERVER_ERROR_CODES + extra)

    # -- components ------------------------------------------------------------------------

    def _inference(self, b: _Builder, model: Model, stream: bool, failed: bool,
                   finish_reason: str = "stop") -> SpanEvent:
        """One chat completion against ``model``: inference metrics and a GenAI client span."""
        rng = self.rng
        input_tokens = round(self._lognormal(600, 0.8, 8, 12000))
        output_tokens = round(self._lognormal(180, 0.7, 4, 4000))
        if finish_reason == "tool_calls":
            output_tokens = round(self._lognormal(40, 0.4, 8, 200))
        speed = max(3.0, rng.gauss(model.tokens_per_second, model.tokens_per_second * 0.15))
        first_token = self._lognormal(model.first_token + input_tokens / 20000, 0.35, 0.02, 20)
        duration = first_token + output_tokens / speed
        stream_value = "true" if stream else "false"
        attrs = (model.id, model.provider, stream_value, _status(failed))
        b.add(c.INFERENCE_MODEL_TYPE_USED, 1, "completion", model.id, model.provider)
        span_attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": model.system,
            "gen_ai.request.model": model.id,
            "gen_ai.request.temperature": round(rng.choice((0.0, 0.2, 0.7, 1.0)), 1),
            "gen_ai.request.max_tokens": rng.choice((256, 512, 1024, 4096)),
            "server.address": model.host,
            "llama_stack.provider_id": model.provider,
            "llama_stack.stream": stream,
        }
        error = None
        if failed:
            # The provider times out or answers with an error part way through.
            duration = rng.uniform(0.05, duration)
            error = rng.choice(("provider returned 503 Service Unavailable",
                                "read timeout from provider", "connection reset by provider"))
            span_attrs["error.type"] = rng.choice(("503", "TimeoutError", "ConnectionError"))
            b.add(c.INFERENCE_DURATION, duration, *attrs)
            if stream and first_token < duration:
                b.add(c.INFERENCE_TIME_TO_FIRST_TOKEN, first_token, *attrs)
        else:
            b.add(c.INFERENCE_DURATION, duration, *attrs)
            if stream:
                b.add(c.INFERENCE_TIME_TO_FIRST_TOKEN, first_token, *attrs)
            b.add(c.INFERENCE_TOKENS_PER_SECOND, output_tokens / duration, *attrs)
            b.add(c.GEN_AI_TOKEN_USAGE, input_tokens, model.id, "input")
            b.add(c.GEN_AI_TOKEN_USAGE, output_tokens, model.id, "output")
            span_attrs.update({
                "gen_ai.response.model": model.id,
                "gen_ai.response.id": f"chatcmpl-{rng.getrandbits(48):012x}",
                "gen_ai.response.finish_reasons": (finish_reason,),
                "gen_ai.usage.input_tokens": input_tokens,
                "gen_ai.usage.output_tokens": output_tokens,
            })
        span = SpanEvent(f"chat {model.id}", "client", b.t, duration, span_attrs, error)
        b.t += duration
        return span

    def _vector_query(self, b: _Builder, store: VectorStore, operation: str, failed: bool,
                      mode: str | None = None) -> SpanEvent:
        b.store = store
        mode = mode or self.rng.choice(SEARCH_MODES)
        factor = {"vector": 1.0, "keyword": 0.6, "hybrid": 1.8}[mode]
        duration = self._lognormal(store.latency * factor, 0.5, 0.001, 5)
        chunks = 0 if failed else self.rng.randint(3, 10)
        b.add(c.VECTOR_QUERIES, 1, store.id, operation, store.provider, _status(failed), mode)
        b.add(c.VECTOR_RETRIEVAL_DURATION, duration, store.id, operation, store.provider, mode)
        if not failed:
            b.add(c.VECTOR_DOCUMENTS_RETRIEVED, chunks, store.id, operation, store.provider, SUCCESS, mode)
        span = SpanEvent(f"query_chunks {store.id}", "client", b.t, duration, {
            "db.system.name": store.provider, "db.collection.name": store.id,
            "db.operation.name": operation, "llama_stack.search_mode": mode,
            "llama_stack.chunks_returned": chunks,
        }, "vector store query failed" if failed else None)
        b.t += duration
        return span

    def _vector_insert(self, b: _Builder, store: VectorStore, failed: bool,
                       operation: str = "chunks") -> SpanEvent:
        """Chunks inserted directly (operation ``chunks``) or by a file attachment (``attach``)."""
        b.store = store
        chunks = self.rng.randint(8, 160)
        duration = self._lognormal(0.02 + chunks * store.latency / 6, 0.4, 0.005, 60)
        b.add(c.VECTOR_INSERTS, 1, store.id, operation, store.provider, _status(failed))
        b.add(c.VECTOR_INSERT_DURATION, duration, store.id, operation, store.provider)
        if not failed and operation == "chunks":
            b.add(c.VECTOR_CHUNKS_PROCESSED, chunks, store.id, operation, store.provider)
        span = SpanEvent(f"insert_chunks {store.id}", "client", b.t, duration, {
            "db.system.name": store.provider, "db.collection.name": store.id,
            "db.operation.name": "insert_chunks", "llama_stack.chunks": chunks,
        }, "vector store insert failed" if failed else None)
        b.t += duration
        return span

    def _tool(self, b: _Builder, tool: Tool, failed: bool) -> SpanEvent:
        start = b.t
        b.t += self._lognormal(0.002, 0.5, 0.0005, 0.05)  # dispatch
        children: tuple[SpanEvent, ...] = ()
        inner_failed = failed and tool is RAG_TOOL and self.rng.random() < 0.5
        if tool is RAG_TOOL:
            store = self.rng.choice(VECTOR_STORES)
            children = (self._vector_query(b, store, "query", inner_failed, "vector"),)
        b.t += self._lognormal(tool.latency, 0.6, 0.01, 30)
        duration = b.t - start
        b.add(c.TOOL_INVOCATIONS, 1, tool.group, tool.name, tool.provider, _status(failed))
        b.add(c.TOOL_DURATION, duration, tool.group, tool.name, tool.provider, ERROR if failed else None)
        span_attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool.name,
                      "gen_ai.tool.call.id": f"call_{self.rng.getrandbits(40):010x}",
                      "llama_stack.tool_group": tool.group,
                      "llama_stack.provider_id": tool.provider}
        error = f"tool {tool.name} failed" if failed else None
        return SpanEvent(f"execute_tool {tool.name}", "internal", start, duration,
                         span_attrs, error, children)

    def _parameters(self, b: _Builder, operation: str, forced: Sequence[str] = ()) -> None:
        for parameter, probability in RESPONSE_PARAMETERS[operation]:
            if parameter in forced or self.rng.random() < probability:
                b.add(c.RESPONSES_PARAMETER_USAGE, 1, operation, parameter)
        for parameter in forced:
            if parameter not in dict(RESPONSE_PARAMETERS[operation]):
                b.add(c.RESPONSES_PARAMETER_USAGE, 1, operation, parameter)

    # -- request kinds: each returns (child spans, failed component's status code or 0) ------

    def _chat(self, b: _Builder, failed: bool, stream: bool | None = None):
        model = self.rng.choice(MODELS)
        stream = self.rng.random() < 0.55 if stream is None else stream
        start = b.t
        inner = self._inference(b, model, stream, failed)
        router = SpanEvent("InferenceRouter.openai_chat_completion", "internal", start,
                           b.t - start, {"llama_stack.api": "inference"},
                           inner.error, (inner,))
        return (router,), self._error_code() if failed else 0

    def _responses(self, b: _Builder, failed: bool):
        rng = self.rng
        model = rng.choice(MODELS)
        stream = rng.random() < 0.5
        use_tool = failed or rng.random() < 0.65
        # Which step fails: the first inference, the tool, or the second inference.
        failing = rng.choice(("infer1", "tool", "infer2")) if failed else ""
        forced = (["stream"] if stream else []) + (["tools"] if use_tool else [])
        self._parameters(b, "create_response", forced)
        start = b.t
        children = [self._inference(b, model, stream, failing == "infer1",
                                    "tool_calls" if use_tool else "stop")]
        tool = rng.choice(TOOLS)
        if use_tool:  # OGX counts the request's tools when it arrives
            b.add(c.RESPONSES_AGENTIC_CALLS, 1)
            b.add(c.RESPONSES_TOOL_TYPES_USED, 1, tool.type)
        if use_tool and failing != "infer1":
            children.append(self._tool(b, tool, failing == "tool"))
            if failing != "tool":
                children.append(self._inference(b, model, stream, failing == "infer2"))
        error = next((s.error for s in children if s.error), None)
        span = SpanEvent("create_openai_response", "internal", start, b.t - start,
                         {"llama_stack.api": "responses", "gen_ai.request.model": model.id,
                          "llama_stack.stream": stream}, error, tuple(children))
        return (span,), self._error_code() if failed else 0

    def _list_responses(self, b: _Builder, failed: bool):
        self._parameters(b, "list_responses")
        start = b.t
        b.t += self._lognormal(0.008, 0.5, 0.001, 1)
        span = SpanEvent("ResponsesStore.list_responses", "internal", start, b.t - start,
                         {"db.system.name": "sqlite", "db.operation.name": "SELECT"},
                         "database is locked" if failed else None)
        return (span,), 500 if failed else 0

    def _tool_invoke(self, b: _Builder, failed: bool):
        span = self._tool(b, self.rng.choice(TOOLS), failed)
        return (span,), self._error_code() if failed else 0

    def _vector_search(self, b: _Builder, failed: bool):
        store = self.rng.choice(VECTOR_STORES)
        span = self._vector_query(b, store, "search", failed)
        return (span,), self._error_code(404) if failed else 0

    def _vector_insert_request(self, b: _Builder, failed: bool):
        span = self._vector_insert(b, self.rng.choice(VECTOR_STORES), failed)
        return (span,), self._error_code() if failed else 0

    def _attach_file(self, b: _Builder, failed: bool):
        store = self.rng.choice(VECTOR_STORES)
        start = b.t
        b.t += self._lognormal(0.15, 0.5, 0.01, 10)  # fetch and chunk the file
        insert_failed = failed and self.rng.random() < 0.5
        inner = self._vector_insert(b, store, insert_failed, "attach")
        b.add(c.VECTOR_FILES, 1, store.id, "attach", store.provider, _status(failed))
        span = SpanEvent(f"attach_file {store.id}", "internal", start, b.t - start,
                         {"db.collection.name": store.id,
                          "llama_stack.file_id": f"file-{self.rng.getrandbits(40):010x}"},
                         "file processing failed" if failed else None, (inner,))
        return (span,), self._error_code(404) if failed else 0

    def _delete_file(self, b: _Builder, failed: bool):
        store = b.store = self.rng.choice(VECTOR_STORES)
        start = b.t
        b.t += self._lognormal(store.latency * 2, 0.5, 0.001, 5)
        b.add(c.VECTOR_DELETES, 1, store.id, "file", store.provider, _status(failed))
        span = SpanEvent(f"delete_chunks {store.id}", "client", start, b.t - start,
                         {"db.system.name": store.provider, "db.collection.name": store.id,
                          "db.operation.name": "delete_chunks"},
                         "vector store delete failed" if failed else None)
        return (span,), self._error_code(404) if failed else 0

    def _store_change(self, b: _Builder, failed: bool, operation: str):
        store = b.store = self.rng.choice(VECTOR_STORES)
        start = b.t
        b.t += self._lognormal(0.04, 0.6, 0.002, 5)
        if operation == "create_vector_store":
            if not failed:  # the servers count stores created, and only successful ones
                b.add(c.VECTOR_STORES, 1, "create", store.provider)
        else:
            b.add(c.VECTOR_DELETES, 1, store.id, "store", store.provider, _status(failed))
        span = SpanEvent(f"{operation} {store.id}", "client", start, b.t - start,
                         {"db.system.name": store.provider, "db.collection.name": store.id,
                          "db.operation.name": operation},
                         f"{operation} failed" if failed else None)
        return (span,), self._error_code() if failed else 0

    def _create_store(self, b: _Builder, failed: bool):
        return self._store_change(b, failed, "create_vector_store")

    def _delete_store(self, b: _Builder, failed: bool):
        return self._store_change(b, failed, "delete_vector_store")

    def _list_models(self, b: _Builder, failed: bool):
        start = b.t
        b.t += self._lognormal(0.004, 0.5, 0.0005, 1)
        span = SpanEvent("ModelsRoutingTable.list_models", "internal", start, b.t - start, {},
                         "registry unavailable" if failed else None)
        return (span,), 503 if failed else 0

    _KINDS = {
        "chat": _chat, "responses": _responses, "list_responses": _list_responses,
        "tool": _tool_invoke, "vector_search": _vector_search,
        "vector_insert": _vector_insert_request, "attach_file": _attach_file,
        "delete_file": _delete_file, "create_store": _create_store,
        "delete_store": _delete_store, "list_models": _list_models,
    }

    # -- requests ------------------------------------------------------------------------------

    def _concurrency(self, api: str, http_method: str) -> list[MetricEvent]:
        """+1 for this request, -1 for earlier ones that finished; no level goes below 0."""
        events = [_event(c.CONCURRENT_REQUESTS, 1, api),
                  _event(c.HTTP_SERVER_ACTIVE_REQUESTS, 1, http_method, "http")]
        self._in_flight.append((api, http_method))
        return events + self._finish_down_to(self.rng.randint(1, 6))  # this request is still in flight

    def _finish_down_to(self, in_flight: int) -> list[MetricEvent]:
        """-1 events for the oldest requests until only ``in_flight`` remain."""
        events: list[MetricEvent] = []
        while len(self._in_flight) > in_flight:
            api, http_method = self._in_flight.popleft()
            events += [_event(c.CONCURRENT_REQUESTS, -1, api),
                       _event(c.HTTP_SERVER_ACTIVE_REQUESTS, -1, http_method, "http")]
        return events

    def drain(self) -> tuple[MetricEvent, ...]:
        """Events that finish every request still in flight (gauges back to zero)."""
        return tuple(self._finish_down_to(0))

    def next_request(self) -> DemoRequest:
        rng = self.rng
        index = self.index
        self.index += 1
        options: dict = {}
        if index < len(WARMUP):
            kind, failed, options = WARMUP[index]
        else:
            kind = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
            failed = rng.random() < self.error_rate
        route = ROUTES[kind]
        pre = rng.uniform(0.0005, 0.004)
        b = _Builder(pre)
        children, code = self._KINDS[kind](self, b, failed, **options)
        # During the warm-up every failure is a 500, so 5xx panels fill at once.
        status_code = (500 if index < len(WARMUP) else code) if failed else (
            201 if route.http_method == "POST" and kind in ("create_store", "attach_file") else 200)
        duration = b.t + rng.uniform(0.0005, 0.003)

        status = _status(status_code >= 400)
        events = self._concurrency(route.api, route.http_method)
        events += [
            _event(c.REQUESTS, 1, route.api, route.method, status, str(status_code)),
            _event(c.REQUEST_DURATION, duration, route.api, route.method),
            _event(c.HTTP_SERVER_DURATION, duration * 1000, route.http_method, status_code,
                   route.path),
            _event(c.HTTP_SERVER_REQUEST_DURATION, duration, route.http_method, status_code,
                   route.path),
        ]
        store = b.store or rng.choice(VECTOR_STORES)
        url_path = route.path.replace("{vector_store_id}", store.id)
        url_path = url_path.replace("{file_id}", f"file-{rng.getrandbits(40):010x}")
        server = SpanEvent(
            f"{route.http_method} {route.path}", "server", 0.0, duration,
            {"http.request.method": route.http_method, "http.route": route.path,
             "url.path": url_path, "url.scheme": "http",
             "http.response.status_code": status_code, "server.address": "localhost",
             "server.port": 8321, "user_agent.original": "llama-stack-client-python/0.2.23",
             "llama_stack.api": route.api, "llama_stack.method": route.method},
            # Semantic conventions: a server span is an error only for 5xx answers.
            f"HTTP {status_code}" if status_code >= 500 else None,
            tuple(children))
        return DemoRequest(index, kind, route, status_code, duration,
                           tuple(b.metrics) + tuple(events), server)


def generate_requests(count: int, seed: int | None = 0) -> list[DemoRequest]:
    """The first ``count`` requests of :class:`EventGenerator` (``seed``)."""
    generator = EventGenerator(seed)
    return [generator.next_request() for _ in range(count)]


def default_service_name(server: c.Server) -> str:
    """The demo app's service.name unless the user names one: ``ogx-demo``, ``llama-stack-demo``."""
    return f"{server.default_service_name}-demo"


def dashboards_to_open() -> list[dict[str, str]]:
    """uid, title and Grafana path of each provisioned dashboard, overview first."""
    from telemetry_stack.dashboards import build_all, dashboard_path

    return [{"uid": d["uid"], "title": d["title"], "path": dashboard_path(d["uid"])}
            for d in build_all().values()]


def normalize_endpoint(endpoint: str) -> str:
    """``http://host:4318`` from a user's OTLP/HTTP endpoint (signal paths stripped)."""
    text = endpoint.strip().rstrip("/")
    for suffix in ("/v1/metrics", "/v1/traces", "/v1/logs"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    parsed = urllib.parse.urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UsageError(f"invalid OTLP/HTTP endpoint {endpoint!r}",
                         hint="Give a URL such as http://127.0.0.1:4318.")
    try:
        _ = parsed.port  # raises ValueError for a non-numeric port
    except ValueError:
        raise UsageError(f"invalid port in OTLP/HTTP endpoint {endpoint!r}") from None
    return text


# --- the OpenTelemetry SDK half ------------------------------------------------------------


@functools.lru_cache(maxsize=1)  # emit_spans asks for it on every request; a failed import is not cached
def _otel():
    """The OpenTelemetry modules the demo uses, or a TelemetryError saying what to install."""
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        missing = exc.name or "an OpenTelemetry package"
        raise TelemetryError(
            f"the demo needs the OpenTelemetry SDK and OTLP/HTTP exporter ({missing} is not "
            "installed).",
            hint=f"Install them with: {INSTALL_HINT}") from None
    return _Otel(trace, OTLPMetricExporter, OTLPSpanExporter, MeterProvider,
                 PeriodicExportingMetricReader, ExplicitBucketHistogramAggregation, View,
                 Resource, TracerProvider, BatchSpanProcessor)


@dataclass(frozen=True)
class _Otel:
    trace: Any
    OTLPMetricExporter: Any
    OTLPSpanExporter: Any
    MeterProvider: Any
    PeriodicExportingMetricReader: Any
    ExplicitBucketHistogramAggregation: Any
    View: Any
    Resource: Any
    TracerProvider: Any
    BatchSpanProcessor: Any


def make_meter_provider(readers: Sequence[Any], resource: Any = None) -> Any:
    """An SDK MeterProvider reading into ``readers``, without views, as the real servers build theirs."""
    otel = _otel()
    kwargs = {"resource": resource} if resource is not None else {}
    return otel.MeterProvider(metric_readers=list(readers), **kwargs)


class MetricRecorder:
    """The catalog instruments ``server`` defines, created on a MeterProvider as that server names them;
    records :class:`MetricEvent`s (events of instruments the server lacks are dropped, as it would)."""

    def __init__(self, meter_provider: Any, server: c.Server = DEFAULT_SERVER) -> None:
        self._instruments: dict[str, Any] = {}
        for inst in c.INSTRUMENTS:
            if not inst.defined_by(server):
                continue
            scope = SCOPE_NAMES.get(inst.domain, f"{server.namespace}.{SERVER_SCOPES.get(inst.domain, inst.domain)}")
            meter = meter_provider.get_meter(scope, "1.0.0")
            kwargs = {"unit": inst.unit, "description": inst.description}
            if inst.buckets is not None:
                kwargs["explicit_bucket_boundaries_advisory"] = list(inst.buckets)
            create = {c.COUNTER: meter.create_counter, c.HISTOGRAM: meter.create_histogram,
                      c.UPDOWNCOUNTER: meter.create_up_down_counter}[inst.kind]
            self._instruments[inst.name] = create(inst.otel_name(server), **kwargs)

    def record(self, event: MetricEvent) -> None:
        instrument = self._instruments.get(event.instrument.name)
        if instrument is None:
            return
        attributes = dict(event.attributes)
        if event.instrument.kind == c.HISTOGRAM:
            instrument.record(event.value, attributes)
        else:
            instrument.add(event.value, attributes)

    def record_all(self, events: Sequence[MetricEvent]) -> None:
        for event in events:
            self.record(event)


def emit_spans(tracer: Any, request: DemoRequest, end_time_ns: int | None = None) -> int:
    """Start and end the request's spans (ending at ``end_time_ns``); return how many."""
    otel = _otel()
    kinds = {"server": otel.trace.SpanKind.SERVER, "client": otel.trace.SpanKind.CLIENT,
             "internal": otel.trace.SpanKind.INTERNAL}
    end_ns = end_time_ns if end_time_ns is not None else time.time_ns()
    origin = end_ns - round(request.duration * 1e9)

    def emit(spec: SpanEvent, parent_context: Any) -> None:
        start = origin + round(spec.start * 1e9)
        span = tracer.start_span(spec.name, context=parent_context, kind=kinds[spec.kind],
                                 attributes=dict(spec.attributes), start_time=start)
        if spec.error:
            span.set_status(otel.trace.Status(otel.trace.StatusCode.ERROR, spec.error))
        context = otel.trace.set_span_in_context(span)
        for child in spec.children:
            emit(child, context)
        span.end(end_time=start + round(spec.duration * 1e9))

    emit(request.span, None)
    return request.span_count


class _ExportErrors(logging.Handler):
    """Counts the SDK's export warnings instead of letting them clutter the terminal."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.last = record.getMessage()


def _check_reachable(base: str) -> None:
    """Fail fast, with a hint, when nothing accepts OTLP/HTTP at ``base``."""
    import requests

    url = f"{base}/v1/metrics"
    try:
        answer = requests.post(url, data=b"", timeout=EXPORT_TIMEOUT_SECONDS,
                               headers={"Content-Type": "application/x-protobuf"})
    except requests.RequestException as exc:
        raise TelemetryError(
            f"cannot reach the OTLP/HTTP endpoint {base} ({type(exc).__name__}).",
            hint="Start the stack first with `llama-telemetry up`, or pass the right "
                 "endpoint.") from None
    if answer.status_code >= 300:
        raise TelemetryError(
            f"the OTLP/HTTP endpoint {base} answered {answer.status_code} to {url}.",
            hint="Is this the collector's OTLP/HTTP port (4318 by default)?")


def run_demo(endpoint: str, duration: float = DEFAULT_DURATION, rate: float = DEFAULT_RATE,
             service_name: str | None = None,
             progress: Callable[[dict], None] | None = None, *, seed: int | None = None,
             check_endpoint: bool = True, server: c.Server = DEFAULT_SERVER) -> dict:
    """Send synthetic ``server`` metrics and traces to ``endpoint`` for ``duration`` s.

    Instruments are named as ``server`` names them; ``service_name`` defaults to
    :func:`default_service_name`.

    About ``rate`` requests per second are simulated.  ``progress`` (if given) is
    called about once a second and once at the end with a dict: ``elapsed``,
    ``duration``, ``requests``, ``errors``, ``spans``, ``done``.  Returns a summary:
    ``endpoint``, ``service_name``, ``duration`` (seconds actually spent),
    ``requests``, ``errors``, ``spans``, ``metric_events``, ``export_errors``,
    ``last_export_error`` and ``dashboards`` (uid, title, path of each).
    """
    if not (isinstance(duration, (int, float)) and math.isfinite(duration) and duration > 0):
        raise UsageError(f"--duration must be a positive number of seconds, not {duration!r}.")
    if not (isinstance(rate, (int, float)) and 0 < rate <= MAX_RATE):
        raise UsageError(f"--rate must be between 0 and {MAX_RATE:g} requests per second, "
                         f"not {rate!r}.")
    if service_name is None:
        service_name = default_service_name(server)
    if not service_name or not service_name.strip():
        raise UsageError("--service-name must not be empty.")
    base = normalize_endpoint(endpoint)
    otel = _otel()
    if check_endpoint:
        _check_reachable(base)

    resource = otel.Resource.create({
        "service.name": service_name,
        "service.version": "demo",
        "deployment.environment.name": "demo",
    })
    errors_handler = _ExportErrors()
    otel_logger = logging.getLogger("opentelemetry")
    otel_logger.addHandler(errors_handler)
    meter_provider = tracer_provider = None
    sent = failed = spans = metric_events = 0
    clock = time.monotonic
    started = clock()
    try:
        reader = otel.PeriodicExportingMetricReader(
            otel.OTLPMetricExporter(endpoint=f"{base}/v1/metrics",
                                    timeout=EXPORT_TIMEOUT_SECONDS),
            export_interval_millis=EXPORT_INTERVAL_SECONDS * 1000)
        meter_provider = make_meter_provider([reader], resource)
        tracer_provider = otel.TracerProvider(resource=resource)
        tracer_provider.add_span_processor(otel.BatchSpanProcessor(
            otel.OTLPSpanExporter(endpoint=f"{base}/v1/traces", timeout=EXPORT_TIMEOUT_SECONDS),
            schedule_delay_millis=EXPORT_INTERVAL_SECONDS * 1000))
        recorder = MetricRecorder(meter_provider, server)
        tracer = tracer_provider.get_tracer("llama_stack.demo")
        generator = EventGenerator(seed)

        def report(elapsed: float, done: bool = False) -> None:
            if progress is not None:
                progress({"elapsed": elapsed, "duration": duration,
                          "requests": sent, "errors": failed, "spans": spans, "done": done})

        next_report = started + 1.0
        while True:
            now = clock()
            if now - started >= duration:
                break
            if now >= next_report:
                report(clock() - started)
                next_report += 1.0
            due = started + sent / rate
            if due > now:
                time.sleep(max(0.0, min(due, next_report, started + duration) - now))
                continue
            request = generator.next_request()
            recorder.record_all(request.metrics)
            spans += emit_spans(tracer, request)
            metric_events += len(request.metrics)
            sent += 1
            failed += request.failed
        recorder.record_all(generator.drain())
    finally:
        try:
            for provider in (meter_provider, tracer_provider):
                if provider is not None:
                    provider.force_flush(EXPORT_TIMEOUT_SECONDS * 2000)
                    provider.shutdown()
        finally:
            otel_logger.removeHandler(errors_handler)
    elapsed = clock() - started
    report(elapsed, done=True)
    return {
        "endpoint": base,
        "service_name": service_name,
        "naming": server.key,
        "duration": round(elapsed, 1),
        "requests": sent,
        "errors": failed,
        "spans": spans,
        "metric_events": metric_events,
        "export_errors": errors_handler.count,
        "last_export_error": errors_handler.last,
        "dashboards": dashboards_to_open(),
    }
