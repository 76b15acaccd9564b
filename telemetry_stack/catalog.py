"""The metrics OGX and Llama Stack emit, and the Prometheus series our collector makes of them.

This module is the single place where metric names are written down.  Everything
else (dashboards, README table, demo, tests) derives series and label names from
the :class:`Instrument` and :class:`Server` objects below.

Llama Stack was renamed OGX.  Both servers define the same instruments under their
own prefix (``llama_stack.inference.duration_seconds`` in Llama Stack 0.7.x,
``ogx.inference.duration_seconds`` in OGX 1.x), and OGX 1.5 adds four.  The
instrument definitions here (names, kinds, units, explicit buckets, attribute keys)
are checked against the published wheels by ``scripts/check_catalog.py``.

Naming through our collector:

* a server's own instruments keep their one prefix: ``ogx.X`` becomes ``ogx_X`` and
  ``llama_stack.X`` becomes ``llama_stack_X``;
* every other metric (auto-instrumentation: ``gen_ai.*``, ``http.server.*``) is
  exported twice, once under each server's prefix, because nothing in OTLP says
  which server an auto-instrumented process runs (both run under
  ``opentelemetry-instrument`` with the same resource), and each server's
  documentation queries its own prefix (``ogx_gen_ai_client_token_usage_sum``,
  ``llama_stack_gen_ai_client_token_usage_sum``);
* dots (and any other character Prometheus does not allow) become underscores;
* unit ``s`` appends ``_seconds``, unit ``ms`` appends ``_milliseconds``, unless
  the name already contains that word; ``1``, ``""`` and ``{curly}`` units add
  nothing;
* monotonic counters end in ``_total`` exactly once; up-down counters become
  plain gauges;
* histograms are exported as ``_bucket`` / ``_sum`` / ``_count`` series, or, when the
  app sends exponential histograms, as one native histogram under the base name;
* attribute ``gen_ai.request.model`` becomes label ``gen_ai_request_model``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "COUNTER",
    "HISTOGRAM",
    "UPDOWNCOUNTER",
    "Server",
    "OGX",
    "LLAMA_STACK",
    "SERVERS",
    "DASHBOARD_SERVER",
    "SDK_DEFAULT_BUCKETS",
    "EXPONENTIAL_HISTOGRAMS",
    "Instrument",
    "INSTRUMENTS",
    "DOMAINS",
    "DOCUMENTED_QUERIES",
    "prometheus_name",
    "label_name",
    "by_name",
    "by_domain",
    "server_named",
    "all_series_names",
]


@dataclass(frozen=True)
class Server:
    """A server that emits these metrics, and the prefix it names its own instruments with."""

    key: str  # what --naming takes
    title: str
    versions: str  # the releases whose instruments the catalog describes
    wheel: str  # the published release the catalog is checked against
    namespace: str  # OpenTelemetry prefix, without the dot
    default_service_name: str  # service.name when the app sets none

    @property
    def otel_prefix(self) -> str:
        return self.namespace + "."

    @property
    def series_prefix(self) -> str:
        return self.namespace + "_"


OGX = Server("ogx", "OGX", "1.x", "ogx==1.5.0", "ogx", "ogx")
LLAMA_STACK = Server("llama-stack", "Llama Stack", "0.7.x", "llama-stack==0.7.3", "llama_stack", "llama-stack")
SERVERS: tuple[Server, ...] = (OGX, LLAMA_STACK)
DASHBOARD_SERVER = OGX
"""Whose copy of the auto-instrumentation metrics the dashboards read (both copies always exist)."""

# The OpenTelemetry SDK's default explicit bucket boundaries: what a histogram created without
# explicit_bucket_boundaries_advisory gets (opentelemetry-sdk, ExplicitBucketHistogramAggregation).
SDK_DEFAULT_BUCKETS: tuple[float, ...] = (0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000)

# The SDK setting that makes an app send exponential histograms instead of bucketed ones; Prometheus
# stores them as native histograms, whose percentiles are accurate whatever the latency.
EXPONENTIAL_HISTOGRAMS = (
    "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
    "base2_exponential_bucket_histogram",
)

Kind = Literal["counter", "histogram", "updowncounter"]
COUNTER: Final = "counter"
HISTOGRAM: Final = "histogram"
UPDOWNCOUNTER: Final = "updowncounter"
_KINDS = (COUNTER, HISTOGRAM, UPDOWNCOUNTER)

# Units that add a word to the series name; every other allowed unit adds nothing.
_UNIT_SUFFIXES = {"s": "seconds", "ms": "milliseconds"}
_SILENT_UNITS = ("", "1")
_CURLY_UNIT = re.compile(r"^\{[^{}]*\}$")
_INVALID_CHARS = re.compile(r"[^a-zA-Z0-9_]+")

HISTOGRAM_SUFFIXES = ("bucket", "sum", "count")


def label_name(attribute: str) -> str:
    """Prometheus label name for an OpenTelemetry attribute (``a.b`` -> ``a_b``)."""
    return _INVALID_CHARS.sub("_", attribute)


def _unit_suffix(unit: str) -> str:
    if unit in _UNIT_SUFFIXES:
        return _UNIT_SUFFIXES[unit]
    if unit in _SILENT_UNITS or _CURLY_UNIT.match(unit):
        return ""
    raise ValueError(f"unit {unit!r} is not one the catalog knows how to name")


def prometheus_name(otel_name: str, kind: str, unit: str, server: Server = DASHBOARD_SERVER) -> str:
    """Base Prometheus name of an instrument as our collector exports it for ``server``.

    A name that starts with a server's prefix keeps it (``server`` is then ignored);
    any other name gets ``server``'s prefix.  Counters include ``_total``; histograms
    are the base of their ``_bucket``/``_sum``/``_count`` series; up-down counters
    are plain gauges.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown instrument kind {kind!r}")
    owner = next((s for s in SERVERS if otel_name.startswith(s.otel_prefix)), None)
    bare = otel_name[len(owner.otel_prefix) :] if owner else otel_name
    words = [w for w in label_name(bare).split("_") if w]
    suffix = _unit_suffix(unit)
    if suffix and suffix not in words:
        words.append(suffix)
    if kind == COUNTER:
        words = [w for w in words if w != "total"] + ["total"]
    return (owner or server).series_prefix + "_".join(words)


@dataclass(frozen=True)
class Instrument:
    """One OpenTelemetry instrument and the series it becomes in Prometheus.

    A server's own instrument (``servers`` not empty) is named without its prefix
    (``inference.duration_seconds``); an auto-instrumentation metric carries its full
    OpenTelemetry name.  ``attributes`` are every key the servers record it with
    (some call sites leave some out); ``buckets`` are its explicit bucket boundaries,
    None for the SDK's defaults.
    """

    name: str
    kind: Kind
    unit: str
    attributes: tuple[str, ...]
    domain: str
    description: str
    servers: tuple[Server, ...] = ()
    buckets: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        # Validates kind and unit early, so a bad catalog entry fails at import.
        prometheus_name(self.name, self.kind, self.unit)
        if self.buckets is not None and self.kind != HISTOGRAM:
            raise ValueError(f"{self.name}: only histograms have buckets")

    @property
    def custom(self) -> bool:
        """True for a server's own instruments, False for auto-instrumentation."""
        return bool(self.servers)

    def defined_by(self, server: Server) -> bool:
        return not self.custom or server in self.servers

    def otel_name(self, server: Server) -> str:
        """The instrument's OpenTelemetry name as ``server`` emits it."""
        if not self.defined_by(server):
            raise KeyError(f"{server.title} has no instrument {self.name}")
        return server.otel_prefix + self.name if self.custom else self.name

    def prometheus_name(self, server: Server = DASHBOARD_SERVER) -> str:
        """Base series name for ``server`` (``..._total`` for counters, no histogram suffix)."""
        return prometheus_name(self.otel_name(server), self.kind, self.unit, server)

    @property
    def dashboard_servers(self) -> tuple[Server, ...]:
        """Whose series the dashboards read: every server defining it, one copy of the others."""
        return self.servers or (DASHBOARD_SERVER,)

    def name_pattern(self, suffix: str = "") -> str:
        """Regex (for ``__name__=~``) of the series the dashboards read, e.g. ``(ogx|llama_stack)_x_count``."""
        if suffix and self.kind != HISTOGRAM:
            raise TypeError(f"{self.name} is a {self.kind}, not a histogram")
        if suffix and suffix not in HISTOGRAM_SUFFIXES:
            raise ValueError(f"unknown histogram series suffix {suffix!r}")
        servers = self.dashboard_servers
        rest = self.prometheus_name(servers[0])[len(servers[0].series_prefix) :] + (f"_{suffix}" if suffix else "")
        if len(servers) == 1:
            return servers[0].series_prefix + rest
        return "(" + "|".join(s.namespace for s in servers) + ")_" + rest

    @property
    def prometheus_type(self) -> str:
        return {COUNTER: "counter", HISTOGRAM: "histogram", UPDOWNCOUNTER: "gauge"}[self.kind]

    @property
    def labels(self) -> tuple[str, ...]:
        """Label names of the exported series, one per attribute."""
        return tuple(label_name(a) for a in self.attributes)

    def label(self, attribute: str) -> str:
        """Label name of one of this instrument's attributes."""
        if attribute not in self.attributes:
            raise KeyError(f"{self.name} has no attribute {attribute!r}")
        return label_name(attribute)

    def series_names(self, server: Server = DASHBOARD_SERVER) -> tuple[str, ...]:
        """Every classic series name this instrument produces in Prometheus for ``server``."""
        base = self.prometheus_name(server)
        if self.kind == HISTOGRAM:
            return tuple(f"{base}_{s}" for s in HISTOGRAM_SUFFIXES)
        return (base,)


# --- the servers' own instruments (telemetry/constants.py, *_metrics.py of each wheel) --------

_BOTH = (OGX, LLAMA_STACK)
_OGX_ONLY = (OGX,)
# Explicit buckets both servers give their vector IO durations (telemetry/vector_io_metrics.py).
_VECTOR_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_INFERENCE_ATTRS = ("model", "provider", "stream", "status")
_TOOL_ATTRS = ("tool_group", "tool_name", "provider", "status")

INFERENCE_DURATION = Instrument(
    "inference.duration_seconds",
    HISTOGRAM,
    "s",
    _INFERENCE_ATTRS,
    "inference",
    "Duration of inference requests from start to completion",
    _BOTH,
)
INFERENCE_TIME_TO_FIRST_TOKEN = Instrument(
    "inference.time_to_first_token_seconds",
    HISTOGRAM,
    "s",
    _INFERENCE_ATTRS,
    "inference",
    "Time from request start to the first content token (streaming only)",
    _BOTH,
)
INFERENCE_TOKENS_PER_SECOND = Instrument(
    "inference.tokens_per_second",
    HISTOGRAM,
    "",
    _INFERENCE_ATTRS,
    "inference",
    "Output token throughput (completion tokens / duration)",
    _BOTH,
)
INFERENCE_MODEL_TYPE_USED = Instrument(
    "inference.model_type_used_total",
    COUNTER,
    "1",
    ("type", "model", "provider"),
    "inference",
    "Inference calls by model type (completion, embedding, reranker)",
    _OGX_ONLY,
)

TOOL_INVOCATIONS = Instrument(
    "tool_runtime.invocations_total", COUNTER, "1", _TOOL_ATTRS, "tool_runtime", "Tool invocations", _BOTH
)
TOOL_DURATION = Instrument(
    "tool_runtime.duration_seconds",
    HISTOGRAM,
    "s",
    _TOOL_ATTRS,
    "tool_runtime",
    "Tool invocation latency (status only on failures)",
    _BOTH,
)

VECTOR_INSERTS = Instrument(
    "vector_io.inserts_total",
    COUNTER,
    "1",
    ("vector_db", "operation", "provider", "status"),
    "vector_io",
    "Vector insert operations (chunks, file attachments)",
    _BOTH,
)
VECTOR_QUERIES = Instrument(
    "vector_io.queries_total",
    COUNTER,
    "1",
    ("vector_db", "operation", "provider", "status", "search_mode"),
    "vector_io",
    "Vector query and search operations",
    _BOTH,
)
VECTOR_DELETES = Instrument(
    "vector_io.deletes_total",
    COUNTER,
    "1",
    ("vector_db", "operation", "provider", "status"),
    "vector_io",
    "Vector store and file deletions",
    _BOTH,
)
VECTOR_STORES = Instrument(
    "vector_io.stores_total", COUNTER, "1", ("operation", "provider"), "vector_io", "Vector stores created", _BOTH
)
VECTOR_FILES = Instrument(
    "vector_io.files_total",
    COUNTER,
    "1",
    ("vector_db", "operation", "provider", "status"),
    "vector_io",
    "File attachments to vector stores",
    _BOTH,
)
VECTOR_CHUNKS_PROCESSED = Instrument(
    "vector_io.chunks_processed_total",
    COUNTER,
    "1",
    ("vector_db", "operation", "provider"),
    "vector_io",
    "Chunks processed by insert operations",
    _BOTH,
)
VECTOR_DOCUMENTS_RETRIEVED = Instrument(
    "vector_io.documents_retrieved_total",
    COUNTER,
    "1",
    ("vector_db", "operation", "provider", "status", "search_mode"),
    "vector_io",
    "Documents (chunks) returned by queries",
    _OGX_ONLY,
)
VECTOR_INSERT_DURATION = Instrument(
    "vector_io.insert_duration_seconds",
    HISTOGRAM,
    "s",
    ("vector_db", "operation", "provider"),
    "vector_io",
    "Vector insert latency",
    _BOTH,
    _VECTOR_BUCKETS,
)
VECTOR_RETRIEVAL_DURATION = Instrument(
    "vector_io.retrieval_duration_seconds",
    HISTOGRAM,
    "s",
    ("vector_db", "operation", "provider", "search_mode"),
    "vector_io",
    "Vector query (retrieval) latency",
    _BOTH,
    _VECTOR_BUCKETS,
)

REQUESTS = Instrument(
    "requests_total",
    COUNTER,
    "1",
    ("api", "method", "status", "status_code"),
    "requests",
    "API requests, by API method and outcome",
    _BOTH,
)
REQUEST_DURATION = Instrument(
    "request_duration_seconds", HISTOGRAM, "s", ("api", "method"), "requests", "API request latency", _BOTH
)
CONCURRENT_REQUESTS = Instrument(
    "concurrent_requests", UPDOWNCOUNTER, "1", ("api",), "requests", "API requests in flight", _BOTH
)

RESPONSES_PARAMETER_USAGE = Instrument(
    "responses.parameter_usage_total",
    COUNTER,
    "1",
    ("operation", "parameter"),
    "responses",
    "Optional Responses API parameters explicitly provided",
    _BOTH,
)
RESPONSES_TOOL_TYPES_USED = Instrument(
    "responses.tool_types_used_total",
    COUNTER,
    "1",
    ("tool_type",),
    "responses",
    "Tool types present in Responses API calls (once per type per call)",
    _OGX_ONLY,
)
RESPONSES_AGENTIC_CALLS = Instrument(
    "responses.agentic_calls_total",
    COUNTER,
    "1",
    (),
    "responses",
    "Responses API calls that include tools (agentic calls)",
    _OGX_ONLY,
)

# --- auto-instrumentation (opentelemetry-instrument) ---------------------------
# Buckets: opentelemetry-util-genai (token usage) and opentelemetry-instrumentation's
# HTTP_DURATION_HISTOGRAM_BUCKETS_NEW (new HTTP semantic conventions); the old ones use the SDK's.

GEN_AI_TOKEN_USAGE = Instrument(
    "gen_ai.client.token.usage",
    HISTOGRAM,
    "{token}",
    ("gen_ai.request.model", "gen_ai.token.type"),
    "gen_ai",
    "Input/output tokens per GenAI client call",
    buckets=(1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864),
)
HTTP_SERVER_DURATION = Instrument(
    "http.server.duration",
    HISTOGRAM,
    "ms",
    ("http.method", "http.status_code", "http.route"),
    "http",
    "HTTP server request duration (older semantic conventions)",
)
HTTP_SERVER_ACTIVE_REQUESTS = Instrument(
    "http.server.active_requests",
    UPDOWNCOUNTER,
    "{request}",
    ("http.method", "http.scheme"),
    "http",
    "HTTP server requests in flight (older semantic conventions)",
)
HTTP_SERVER_REQUEST_DURATION = Instrument(
    "http.server.request.duration",
    HISTOGRAM,
    "s",
    ("http.request.method", "http.response.status_code", "http.route"),
    "http",
    "HTTP server request duration (newer semantic conventions)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10),
)

INSTRUMENTS: tuple[Instrument, ...] = (
    INFERENCE_DURATION,
    INFERENCE_TIME_TO_FIRST_TOKEN,
    INFERENCE_TOKENS_PER_SECOND,
    INFERENCE_MODEL_TYPE_USED,
    TOOL_INVOCATIONS,
    TOOL_DURATION,
    VECTOR_INSERTS,
    VECTOR_QUERIES,
    VECTOR_DELETES,
    VECTOR_STORES,
    VECTOR_FILES,
    VECTOR_CHUNKS_PROCESSED,
    VECTOR_DOCUMENTS_RETRIEVED,
    VECTOR_INSERT_DURATION,
    VECTOR_RETRIEVAL_DURATION,
    REQUESTS,
    REQUEST_DURATION,
    CONCURRENT_REQUESTS,
    RESPONSES_PARAMETER_USAGE,
    RESPONSES_TOOL_TYPES_USED,
    RESPONSES_AGENTIC_CALLS,
    GEN_AI_TOKEN_USAGE,
    HTTP_SERVER_DURATION,
    HTTP_SERVER_ACTIVE_REQUESTS,
    HTTP_SERVER_REQUEST_DURATION,
)

DOMAINS: tuple[str, ...] = tuple(dict.fromkeys(i.domain for i in INSTRUMENTS))


def by_name(name: str) -> Instrument:
    """The instrument with this catalog name (a server's own without its prefix)."""
    for instrument in INSTRUMENTS:
        if instrument.name == name:
            return instrument
    raise KeyError(name)


def by_domain(domain: str) -> tuple[Instrument, ...]:
    return tuple(i for i in INSTRUMENTS if i.domain == domain)


def server_named(key: str) -> Server:
    """The server whose ``key`` is given (``ogx`` or ``llama-stack``)."""
    for server in SERVERS:
        if server.key == key:
            return server
    raise KeyError(key)


def all_series_names(server: Server) -> frozenset[str]:
    """Every classic Prometheus series name an app of ``server`` produces through our collector."""
    return frozenset(s for i in INSTRUMENTS if i.defined_by(server) for s in i.series_names(server))


DOCUMENTED_QUERIES: dict[str, tuple[str, ...]] = {
    # OGX's telemetry guide and its "Prometheus: Metrics Queries" table.
    OGX.key: (
        'sum by(gen_ai_request_model) (ogx_gen_ai_client_token_usage_sum{gen_ai_token_type="input"})',
        'sum by(gen_ai_request_model) (ogx_gen_ai_client_token_usage_sum{gen_ai_token_type="output"})',
        "histogram_quantile(0.95, rate(ogx_http_server_duration_milliseconds_bucket[5m]))",
        "sum(ogx_http_server_duration_milliseconds_count)",
        "histogram_quantile(0.99, rate(ogx_inference_duration_seconds_bucket[5m]))",
        "histogram_quantile(0.95, rate(ogx_inference_time_to_first_token_seconds_bucket[5m]))",
        "histogram_quantile(0.5, rate(ogx_inference_tokens_per_second_bucket[5m]))",
        'rate(ogx_tool_runtime_invocations_total{status="error"}[5m])',
    ),
    # Llama Stack's telemetry documentation.
    LLAMA_STACK.key: (
        'sum by(gen_ai_request_model) (llama_stack_gen_ai_client_token_usage_sum{gen_ai_token_type="input"})',
        'sum by(gen_ai_request_model) (llama_stack_gen_ai_client_token_usage_sum{gen_ai_token_type="output"})',
        "histogram_quantile(0.95, rate(llama_stack_http_server_duration_milliseconds_bucket[5m]))",
        "histogram_quantile(0.99, rate(llama_stack_inference_duration_seconds_bucket[5m]))",
        "rate(llama_stack_tool_runtime_invocations_total[5m])",
        "rate(llama_stack_vector_io_inserts_total[5m])",
    ),
}
"""The PromQL each server's documentation prints, verbatim: it must work on our stack as written."""
