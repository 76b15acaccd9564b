"""The metrics Llama Stack emits, and the Prometheus series our collector makes of them.

This module is the single place where metric names are written down.  Everything
else (dashboards, README table, demo, tests) derives series and label names from
the :class:`Instrument` objects below.

Naming through our collector (see the project spec):

* every series carries exactly one ``llama_stack_`` prefix: instruments already
  named ``llama_stack.X`` become ``llama_stack_X``, all others get the prefix;
* dots (and any other character Prometheus does not allow) become underscores;
* unit ``s`` appends ``_seconds``, unit ``ms`` appends ``_milliseconds``, unless
  the name already contains that word; ``1``, ``""`` and ``{curly}`` units add
  nothing;
* monotonic counters end in ``_total`` exactly once; up-down counters become
  plain gauges;
* histograms are exported as ``_bucket`` / ``_sum`` / ``_count`` series;
* attribute ``gen_ai.request.model`` becomes label ``gen_ai_request_model``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "PREFIX",
    "COUNTER",
    "HISTOGRAM",
    "UPDOWNCOUNTER",
    "Instrument",
    "INSTRUMENTS",
    "DOMAINS",
    "DOCUMENTED_QUERIES",
    "prometheus_name",
    "label_name",
    "by_name",
    "by_domain",
    "all_series_names",
]

PREFIX = "llama_stack_"
"""The one prefix every exported series carries."""

_OTEL_PREFIX = "llama_stack."

COUNTER = "counter"
HISTOGRAM = "histogram"
UPDOWNCOUNTER = "updowncounter"
Kind = Literal["counter", "histogram", "updowncounter"]
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


def prometheus_name(otel_name: str, kind: str, unit: str) -> str:
    """Base Prometheus name of an instrument as our collector exports it.

    Counters include ``_total``; histograms are the base of their
    ``_bucket``/``_sum``/``_count`` series; up-down counters are plain gauges.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown instrument kind {kind!r}")
    bare = otel_name[len(_OTEL_PREFIX):] if otel_name.startswith(_OTEL_PREFIX) else otel_name
    words = [w for w in label_name(bare).split("_") if w]
    suffix = _unit_suffix(unit)
    if suffix and suffix not in words:
        words.append(suffix)
    if kind == COUNTER:
        words = [w for w in words if w != "total"] + ["total"]
    return PREFIX + "_".join(words)


@dataclass(frozen=True)
class Instrument:
    """One OpenTelemetry instrument and the series it becomes in Prometheus."""

    name: str
    kind: Kind
    unit: str
    attributes: tuple[str, ...]
    domain: str
    description: str

    def __post_init__(self) -> None:
        # Validates kind and unit early, so a bad catalog entry fails at import.
        prometheus_name(self.name, self.kind, self.unit)

    @property
    def custom(self) -> bool:
        """True for Llama Stack's own instruments, False for auto-instrumentation."""
        return self.name.startswith(_OTEL_PREFIX)

    @property
    def prometheus_name(self) -> str:
        """Base series name (``..._total`` for counters, no histogram suffix)."""
        return prometheus_name(self.name, self.kind, self.unit)

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

    def _histogram_series(self, suffix: str) -> str:
        if self.kind != HISTOGRAM:
            raise TypeError(f"{self.name} is a {self.kind}, not a histogram")
        return f"{self.prometheus_name}_{suffix}"

    @property
    def bucket(self) -> str:
        return self._histogram_series("bucket")

    @property
    def sum(self) -> str:
        return self._histogram_series("sum")

    @property
    def count(self) -> str:
        return self._histogram_series("count")

    @property
    def series_names(self) -> tuple[str, ...]:
        """Every series name this instrument produces in Prometheus."""
        if self.kind == HISTOGRAM:
            return tuple(self._histogram_series(s) for s in HISTOGRAM_SUFFIXES)
        return (self.prometheus_name,)


# --- Llama Stack's own instruments (telemetry/constants.py) -------------------

_INFERENCE_ATTRS = ("model", "provider", "stream", "status")
_TOOL_ATTRS = ("tool_group", "tool_name", "provider", "status")
_VECTOR_ATTRS = ("vector_db", "operation", "provider", "status", "search_mode")

INFERENCE_DURATION = Instrument(
    "llama_stack.inference.duration_seconds", HISTOGRAM, "s", _INFERENCE_ATTRS,
    "inference", "Duration of inference requests from start to completion")
INFERENCE_TIME_TO_FIRST_TOKEN = Instrument(
    "llama_stack.inference.time_to_first_token_seconds", HISTOGRAM, "s", _INFERENCE_ATTRS,
    "inference", "Time from request start to the first content token (streaming only)")
INFERENCE_TOKENS_PER_SECOND = Instrument(
    "llama_stack.inference.tokens_per_second", HISTOGRAM, "", _INFERENCE_ATTRS,
    "inference", "Output token throughput (completion tokens / duration)")

TOOL_INVOCATIONS = Instrument(
    "llama_stack.tool_runtime.invocations_total", COUNTER, "1", _TOOL_ATTRS,
    "tool_runtime", "Tool invocations")
TOOL_DURATION = Instrument(
    "llama_stack.tool_runtime.duration_seconds", HISTOGRAM, "s", _TOOL_ATTRS,
    "tool_runtime", "Tool invocation latency")

VECTOR_INSERTS = Instrument(
    "llama_stack.vector_io.inserts_total", COUNTER, "1", _VECTOR_ATTRS,
    "vector_io", "Vector insert operations")
VECTOR_QUERIES = Instrument(
    "llama_stack.vector_io.queries_total", COUNTER, "1", _VECTOR_ATTRS,
    "vector_io", "Vector query operations")
VECTOR_DELETES = Instrument(
    "llama_stack.vector_io.deletes_total", COUNTER, "1", _VECTOR_ATTRS,
    "vector_io", "Vector delete operations")
VECTOR_STORES = Instrument(
    "llama_stack.vector_io.stores_total", COUNTER, "1", _VECTOR_ATTRS,
    "vector_io", "Vector store operations (create/delete)")
VECTOR_FILES = Instrument(
    "llama_stack.vector_io.files_total", COUNTER, "1", _VECTOR_ATTRS,
    "vector_io", "File attachments to vector stores")
VECTOR_CHUNKS_PROCESSED = Instrument(
    "llama_stack.vector_io.chunks_processed_total", COUNTER, "1", _VECTOR_ATTRS,
    "vector_io", "Chunks processed by vector operations")
VECTOR_INSERT_DURATION = Instrument(
    "llama_stack.vector_io.insert_duration_seconds", HISTOGRAM, "s", _VECTOR_ATTRS,
    "vector_io", "Vector insert latency")
VECTOR_RETRIEVAL_DURATION = Instrument(
    "llama_stack.vector_io.retrieval_duration_seconds", HISTOGRAM, "s", _VECTOR_ATTRS,
    "vector_io", "Vector query (retrieval) latency")

REQUESTS = Instrument(
    "llama_stack.requests_total", COUNTER, "1", ("api", "method", "status", "status_code"),
    "requests", "API requests, by API method and outcome")
REQUEST_DURATION = Instrument(
    "llama_stack.request_duration_seconds", HISTOGRAM, "s", ("api", "method"),
    "requests", "API request latency")
CONCURRENT_REQUESTS = Instrument(
    "llama_stack.concurrent_requests", UPDOWNCOUNTER, "1", ("api",),
    "requests", "API requests in flight")

RESPONSES_PARAMETER_USAGE = Instrument(
    "llama_stack.responses.parameter_usage_total", COUNTER, "1", ("operation", "parameter"),
    "responses", "Optional Responses API parameters explicitly provided")

# --- auto-instrumentation (opentelemetry-instrument) ---------------------------

GEN_AI_TOKEN_USAGE = Instrument(
    "gen_ai.client.token.usage", HISTOGRAM, "{token}",
    ("gen_ai.request.model", "gen_ai.token.type"),
    "gen_ai", "Input/output tokens per GenAI client call")
HTTP_SERVER_DURATION = Instrument(
    "http.server.duration", HISTOGRAM, "ms", ("http.method", "http.status_code", "http.route"),
    "http", "HTTP server request duration (older semantic conventions)")
HTTP_SERVER_ACTIVE_REQUESTS = Instrument(
    "http.server.active_requests", UPDOWNCOUNTER, "{request}", ("http.method", "http.scheme"),
    "http", "HTTP server requests in flight (older semantic conventions)")
HTTP_SERVER_REQUEST_DURATION = Instrument(
    "http.server.request.duration", HISTOGRAM, "s",
    ("http.request.method", "http.response.status_code", "http.route"),
    "http", "HTTP server request duration (newer semantic conventions)")

INSTRUMENTS: tuple[Instrument, ...] = (
    INFERENCE_DURATION,
    INFERENCE_TIME_TO_FIRST_TOKEN,
    INFERENCE_TOKENS_PER_SECOND,
    TOOL_INVOCATIONS,
    TOOL_DURATION,
    VECTOR_INSERTS,
    VECTOR_QUERIES,
    VECTOR_DELETES,
    VECTOR_STORES,
    VECTOR_FILES,
    VECTOR_CHUNKS_PROCESSED,
    VECTOR_INSERT_DURATION,
    VECTOR_RETRIEVAL_DURATION,
    REQUESTS,
    REQUEST_DURATION,
    CONCURRENT_REQUESTS,
    RESPONSES_PARAMETER_USAGE,
    GEN_AI_TOKEN_USAGE,
    HTTP_SERVER_DURATION,
    HTTP_SERVER_ACTIVE_REQUESTS,
    HTTP_SERVER_REQUEST_DURATION,
)

DOMAINS: tuple[str, ...] = tuple(dict.fromkeys(i.domain for i in INSTRUMENTS))


def by_name(otel_name: str) -> Instrument:
    """The instrument with this OpenTelemetry name."""
    for instrument in INSTRUMENTS:
        if instrument.name == otel_name:
            return instrument
    raise KeyError(otel_name)


def by_domain(domain: str) -> tuple[Instrument, ...]:
    return tuple(i for i in INSTRUMENTS if i.domain == domain)


def all_series_names() -> frozenset[str]:
    """Every Prometheus series name the catalog's instruments produce."""
    return frozenset(s for i in INSTRUMENTS for s in i.series_names)


def _token_usage(token_type: str) -> str:
    model = GEN_AI_TOKEN_USAGE.label("gen_ai.request.model")
    kind = GEN_AI_TOKEN_USAGE.label("gen_ai.token.type")
    return f'sum by({model}) ({GEN_AI_TOKEN_USAGE.sum}{{{kind}="{token_type}"}})'


DOCUMENTED_QUERIES: tuple[str, ...] = (
    _token_usage("input"),
    _token_usage("output"),
    f"histogram_quantile(0.95, rate({HTTP_SERVER_DURATION.bucket}[5m]))",
    f"histogram_quantile(0.99, rate({INFERENCE_DURATION.bucket}[5m]))",
    f"rate({TOOL_INVOCATIONS.prometheus_name}[5m])",
    f"rate({VECTOR_INSERTS.prometheus_name}[5m])",
)
"""The PromQL Llama Stack's documentation tells users to run, built from the catalog."""
