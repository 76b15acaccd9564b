"""The demo's scenario: what an OGX / Llama Stack deployment serves, and the events its requests become.

The models, tools, vector stores and routes the synthetic requests draw from, how
often each kind of request comes and the warm-up order, plus the event types
:class:`MetricEvent`, :class:`SpanEvent` and :class:`DemoRequest`.  Plain data on
the standard library and the catalog, so anything can read it without the SDK.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from telemetry_stack.catalog import Instrument

SUCCESS, ERROR = "success", "error"


# --- what an OGX / Llama Stack deployment might serve ------------------------------------------


@dataclass(frozen=True)
class Model:
    id: str
    provider: str
    system: str  # gen_ai.system
    host: str  # server.address of the provider
    tokens_per_second: float
    first_token: float  # median time to first token, seconds


@dataclass(frozen=True)
class Tool:
    group: str
    name: str
    provider: str
    latency: float  # median, seconds
    type: str  # its Responses API tool type (OGX's tool_types_used_total)


@dataclass(frozen=True)
class VectorStore:
    id: str
    provider: str
    latency: float  # median query latency, seconds


@dataclass(frozen=True)
class Route:
    api: str
    method: str
    http_method: str
    path: str


MODELS: tuple[Model, ...] = (
    Model("meta-llama/Llama-3.2-3B-Instruct", "ollama", "ollama", "localhost", 42.0, 0.18),
    Model("meta-llama/Llama-3.1-8B-Instruct", "vllm", "vllm", "vllm.internal", 95.0, 0.07),
    Model("meta-llama/Llama-3.3-70B-Instruct", "fireworks", "fireworks", "api.fireworks.ai", 58.0, 0.32),
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
        ("instructions", 0.7),
        ("temperature", 0.55),
        ("max_output_tokens", 0.4),
        ("tools", 0.6),
        ("store", 0.3),
        ("previous_response_id", 0.25),
        ("top_p", 0.15),
        ("tool_choice", 0.12),
        ("include", 0.1),
        ("text", 0.1),
        ("metadata", 0.08),
    ),
    "list_responses": (("limit", 0.8), ("order", 0.5), ("after", 0.3), ("model", 0.2)),
}

ROUTES: dict[str, Route] = {
    "chat": Route("inference", "openai_chat_completion", "POST", "/v1/chat/completions"),
    "responses": Route("responses", "create_openai_response", "POST", "/v1/responses"),
    "list_responses": Route("responses", "list_openai_responses", "GET", "/v1/responses"),
    "tool": Route("tool_runtime", "invoke_tool", "POST", "/v1/tool-runtime/invoke"),
    "vector_search": Route(
        "vector_io", "openai_search_vector_store", "POST", "/v1/vector_stores/{vector_store_id}/search"
    ),
    "vector_insert": Route("vector_io", "insert_chunks", "POST", "/v1/vector-io/insert"),
    "attach_file": Route(
        "vector_io", "openai_attach_file_to_vector_store", "POST", "/v1/vector_stores/{vector_store_id}/files"
    ),
    "delete_file": Route(
        "vector_io", "openai_delete_vector_store_file", "DELETE", "/v1/vector_stores/{vector_store_id}/files/{file_id}"
    ),
    "create_store": Route("vector_io", "openai_create_vector_store", "POST", "/v1/vector_stores"),
    "delete_store": Route("vector_io", "openai_delete_vector_store", "DELETE", "/v1/vector_stores/{vector_store_id}"),
    "list_models": Route("models", "openai_list_models", "GET", "/v1/models"),
}

# Relative frequency of each kind of request after the warm-up.
WEIGHTS: dict[str, float] = {
    "chat": 40,
    "responses": 18,
    "list_responses": 3,
    "tool": 8,
    "vector_search": 12,
    "vector_insert": 6,
    "attach_file": 4,
    "delete_file": 2,
    "create_store": 2,
    "delete_store": 1,
    "list_models": 4,
}

# The warm-up sends every kind of request once succeeding and once failing (chat both
# streaming and not), so a few seconds of demo fill every panel, error panels included.
WARMUP: tuple[tuple[str, bool, dict], ...] = tuple(
    [(kind, False, {}) for kind in WEIGHTS]
    + [("chat", False, {"stream": True}), ("chat", False, {"stream": False})]
    + [(kind, True, {}) for kind in WEIGHTS]
    + [("chat", True, {"stream": True}), ("chat", True, {"stream": False})]
)

SERVER_ERROR_CODES = (500, 502, 503, 504)
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
