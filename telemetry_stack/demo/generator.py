"""The pure, seeded generator of synthetic OGX / Llama Stack requests (:class:`EventGenerator`).

It invents chat completions (streaming or not), Responses API calls with tool calls
and vector searches, direct tool invocations, vector store inserts/searches/deletes
and model listings, and describes each as metric events (which catalog instrument,
what value, which attributes) plus a tree of span events.  It needs nothing but the
standard library and the catalog, so tests can drive the same events through any
OpenTelemetry reader.

Attribute values are bound to a catalog instrument's attributes in the order the
catalog lists them (:func:`_bind`).  Each request is measured in both HTTP semantic
conventions at once (as a server run with ``OTEL_SEMCONV_STABILITY_OPT_IN=http/dup``
does), so every dashboard panel has data.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

from telemetry_stack import catalog as c
from telemetry_stack.catalog import Instrument
from telemetry_stack.demo.scenario import (
    ERROR,
    MODELS,
    RAG_TOOL,
    RESPONSE_PARAMETERS,
    ROUTES,
    SEARCH_MODES,
    SERVER_ERROR_CODES,
    SUCCESS,
    TOOLS,
    VECTOR_STORES,
    WARMUP,
    WEIGHTS,
    DemoRequest,
    MetricEvent,
    Model,
    SpanEvent,
    Tool,
    VectorStore,
)


def _bind(inst: Instrument, *values: str | int | None) -> dict[str, str | int]:
    """Attributes of ``inst`` from values given in the catalog's attribute order.

    ``None`` leaves an attribute out (as the servers do, e.g. no search mode on inserts).
    """
    if len(values) != len(inst.attributes):
        raise ValueError(f"{inst.name} has {len(inst.attributes)} attributes, got {len(values)}")
    return {name: value for name, value in zip(inst.attributes, values, strict=True) if value is not None}


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

    def _inference(
        self, b: _Builder, model: Model, stream: bool, failed: bool, finish_reason: str = "stop"
    ) -> SpanEvent:
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
            error = rng.choice(
                (
                    "provider returned 503 Service Unavailable",
                    "read timeout from provider",
                    "connection reset by provider",
                )
            )
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
            span_attrs.update(
                {
                    "gen_ai.response.model": model.id,
                    "gen_ai.response.id": f"chatcmpl-{rng.getrandbits(48):012x}",
                    "gen_ai.response.finish_reasons": (finish_reason,),
                    "gen_ai.usage.input_tokens": input_tokens,
                    "gen_ai.usage.output_tokens": output_tokens,
                }
            )
        span = SpanEvent(f"chat {model.id}", "client", b.t, duration, span_attrs, error)
        b.t += duration
        return span

    def _vector_query(
        self, b: _Builder, store: VectorStore, operation: str, failed: bool, mode: str | None = None
    ) -> SpanEvent:
        b.store = store
        mode = mode or self.rng.choice(SEARCH_MODES)
        factor = {"vector": 1.0, "keyword": 0.6, "hybrid": 1.8}[mode]
        duration = self._lognormal(store.latency * factor, 0.5, 0.001, 5)
        chunks = 0 if failed else self.rng.randint(3, 10)
        b.add(c.VECTOR_QUERIES, 1, store.id, operation, store.provider, _status(failed), mode)
        b.add(c.VECTOR_RETRIEVAL_DURATION, duration, store.id, operation, store.provider, mode)
        if not failed:
            b.add(c.VECTOR_DOCUMENTS_RETRIEVED, chunks, store.id, operation, store.provider, SUCCESS, mode)
        span = SpanEvent(
            f"query_chunks {store.id}",
            "client",
            b.t,
            duration,
            {
                "db.system.name": store.provider,
                "db.collection.name": store.id,
                "db.operation.name": operation,
                "llama_stack.search_mode": mode,
                "llama_stack.chunks_returned": chunks,
            },
            "vector store query failed" if failed else None,
        )
        b.t += duration
        return span

    def _vector_insert(self, b: _Builder, store: VectorStore, failed: bool, operation: str = "chunks") -> SpanEvent:
        """Chunks inserted directly (operation ``chunks``) or by a file attachment (``attach``)."""
        b.store = store
        chunks = self.rng.randint(8, 160)
        duration = self._lognormal(0.02 + chunks * store.latency / 6, 0.4, 0.005, 60)
        b.add(c.VECTOR_INSERTS, 1, store.id, operation, store.provider, _status(failed))
        b.add(c.VECTOR_INSERT_DURATION, duration, store.id, operation, store.provider)
        if not failed and operation == "chunks":
            b.add(c.VECTOR_CHUNKS_PROCESSED, chunks, store.id, operation, store.provider)
        span = SpanEvent(
            f"insert_chunks {store.id}",
            "client",
            b.t,
            duration,
            {
                "db.system.name": store.provider,
                "db.collection.name": store.id,
                "db.operation.name": "insert_chunks",
                "llama_stack.chunks": chunks,
            },
            "vector store insert failed" if failed else None,
        )
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
        span_attrs = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": tool.name,
            "gen_ai.tool.call.id": f"call_{self.rng.getrandbits(40):010x}",
            "llama_stack.tool_group": tool.group,
            "llama_stack.provider_id": tool.provider,
        }
        error = f"tool {tool.name} failed" if failed else None
        return SpanEvent(f"execute_tool {tool.name}", "internal", start, duration, span_attrs, error, children)

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
        router = SpanEvent(
            "InferenceRouter.openai_chat_completion",
            "internal",
            start,
            b.t - start,
            {"llama_stack.api": "inference"},
            inner.error,
            (inner,),
        )
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
        children = [self._inference(b, model, stream, failing == "infer1", "tool_calls" if use_tool else "stop")]
        tool = rng.choice(TOOLS)
        if use_tool:  # OGX counts the request's tools when it arrives
            b.add(c.RESPONSES_AGENTIC_CALLS, 1)
            b.add(c.RESPONSES_TOOL_TYPES_USED, 1, tool.type)
        if use_tool and failing != "infer1":
            children.append(self._tool(b, tool, failing == "tool"))
            if failing != "tool":
                children.append(self._inference(b, model, stream, failing == "infer2"))
        error = next((s.error for s in children if s.error), None)
        span = SpanEvent(
            "create_openai_response",
            "internal",
            start,
            b.t - start,
            {"llama_stack.api": "responses", "gen_ai.request.model": model.id, "llama_stack.stream": stream},
            error,
            tuple(children),
        )
        return (span,), self._error_code() if failed else 0

    def _list_responses(self, b: _Builder, failed: bool):
        self._parameters(b, "list_responses")
        start = b.t
        b.t += self._lognormal(0.008, 0.5, 0.001, 1)
        span = SpanEvent(
            "ResponsesStore.list_responses",
            "internal",
            start,
            b.t - start,
            {"db.system.name": "sqlite", "db.operation.name": "SELECT"},
            "database is locked" if failed else None,
        )
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
        span = SpanEvent(
            f"attach_file {store.id}",
            "internal",
            start,
            b.t - start,
            {"db.collection.name": store.id, "llama_stack.file_id": f"file-{self.rng.getrandbits(40):010x}"},
            "file processing failed" if failed else None,
            (inner,),
        )
        return (span,), self._error_code(404) if failed else 0

    def _delete_file(self, b: _Builder, failed: bool):
        store = b.store = self.rng.choice(VECTOR_STORES)
        start = b.t
        b.t += self._lognormal(store.latency * 2, 0.5, 0.001, 5)
        b.add(c.VECTOR_DELETES, 1, store.id, "file", store.provider, _status(failed))
        span = SpanEvent(
            f"delete_chunks {store.id}",
            "client",
            start,
            b.t - start,
            {"db.system.name": store.provider, "db.collection.name": store.id, "db.operation.name": "delete_chunks"},
            "vector store delete failed" if failed else None,
        )
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
        span = SpanEvent(
            f"{operation} {store.id}",
            "client",
            start,
            b.t - start,
            {"db.system.name": store.provider, "db.collection.name": store.id, "db.operation.name": operation},
            f"{operation} failed" if failed else None,
        )
        return (span,), self._error_code() if failed else 0

    def _create_store(self, b: _Builder, failed: bool):
        return self._store_change(b, failed, "create_vector_store")

    def _delete_store(self, b: _Builder, failed: bool):
        return self._store_change(b, failed, "delete_vector_store")

    def _list_models(self, b: _Builder, failed: bool):
        start = b.t
        b.t += self._lognormal(0.004, 0.5, 0.0005, 1)
        span = SpanEvent(
            "ModelsRoutingTable.list_models",
            "internal",
            start,
            b.t - start,
            {},
            "registry unavailable" if failed else None,
        )
        return (span,), 503 if failed else 0

    _KINDS = {
        "chat": _chat,
        "responses": _responses,
        "list_responses": _list_responses,
        "tool": _tool_invoke,
        "vector_search": _vector_search,
        "vector_insert": _vector_insert_request,
        "attach_file": _attach_file,
        "delete_file": _delete_file,
        "create_store": _create_store,
        "delete_store": _delete_store,
        "list_models": _list_models,
    }

    # -- requests ------------------------------------------------------------------------------

    def _concurrency(self, api: str, http_method: str) -> list[MetricEvent]:
        """+1 for this request, -1 for earlier ones that finished; no level goes below 0."""
        events = [_event(c.CONCURRENT_REQUESTS, 1, api), _event(c.HTTP_SERVER_ACTIVE_REQUESTS, 1, http_method, "http")]
        self._in_flight.append((api, http_method))
        return events + self._finish_down_to(self.rng.randint(1, 6))  # this request is still in flight

    def _finish_down_to(self, in_flight: int) -> list[MetricEvent]:
        """-1 events for the oldest requests until only ``in_flight`` remain."""
        events: list[MetricEvent] = []
        while len(self._in_flight) > in_flight:
            api, http_method = self._in_flight.popleft()
            events += [
                _event(c.CONCURRENT_REQUESTS, -1, api),
                _event(c.HTTP_SERVER_ACTIVE_REQUESTS, -1, http_method, "http"),
            ]
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
        status_code = (
            (500 if index < len(WARMUP) else code)
            if failed
            else (201 if route.http_method == "POST" and kind in ("create_store", "attach_file") else 200)
        )
        duration = b.t + rng.uniform(0.0005, 0.003)

        status = _status(status_code >= 400)
        events = self._concurrency(route.api, route.http_method)
        events += [
            _event(c.REQUESTS, 1, route.api, route.method, status, str(status_code)),
            _event(c.REQUEST_DURATION, duration, route.api, route.method),
            _event(c.HTTP_SERVER_DURATION, duration * 1000, route.http_method, status_code, route.path),
            _event(c.HTTP_SERVER_REQUEST_DURATION, duration, route.http_method, status_code, route.path),
        ]
        store = b.store or rng.choice(VECTOR_STORES)
        url_path = route.path.replace("{vector_store_id}", store.id)
        url_path = url_path.replace("{file_id}", f"file-{rng.getrandbits(40):010x}")
        server = SpanEvent(
            f"{route.http_method} {route.path}",
            "server",
            0.0,
            duration,
            {
                "http.request.method": route.http_method,
                "http.route": route.path,
                "url.path": url_path,
                "url.scheme": "http",
                "http.response.status_code": status_code,
                "server.address": "localhost",
                "server.port": 8321,
                "user_agent.original": "llama-stack-client-python/0.2.23",
                "llama_stack.api": route.api,
                "llama_stack.method": route.method,
            },
            # Semantic conventions: a server span is an error only for 5xx answers.
            f"HTTP {status_code}" if status_code >= 500 else None,
            tuple(children),
        )
        return DemoRequest(index, kind, route, status_code, duration, tuple(b.metrics) + tuple(events), server)


def generate_requests(count: int, seed: int | None = 0) -> list[DemoRequest]:
    """The first ``count`` requests of :class:`EventGenerator` (``seed``)."""
    generator = EventGenerator(seed)
    return [generator.next_request() for _ in range(count)]
