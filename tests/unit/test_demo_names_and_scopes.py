"""What the demo's data is called: the service name it carries by default (README: `ogx-demo`, `llama-stack-demo`;
`env` prints the server's own `ogx` or `llama-stack`), and the instrumentation scope each instrument is recorded
under, as each server (and the OpenAI and FastAPI instrumentations) names its meters."""

from __future__ import annotations

import pytest

from telemetry_stack import catalog, demo


def test_default_service_names_are_the_documented_ones():
    assert (catalog.OGX.default_service_name, catalog.LLAMA_STACK.default_service_name) == ("ogx", "llama-stack")
    assert demo.default_service_name(catalog.OGX) == "ogx-demo"
    assert demo.default_service_name(catalog.LLAMA_STACK) == "llama-stack-demo"


OWN_SCOPES = {  # catalog name -> the server's meter, after its namespace
    "inference.duration_seconds": "inference",
    "inference.time_to_first_token_seconds": "inference",
    "inference.tokens_per_second": "inference",
    "inference.model_type_used_total": "inference",
    "tool_runtime.invocations_total": "tool_runtime",
    "tool_runtime.duration_seconds": "tool_runtime",
    "vector_io.inserts_total": "vector_io",
    "vector_io.queries_total": "vector_io",
    "vector_io.deletes_total": "vector_io",
    "vector_io.stores_total": "vector_io",
    "vector_io.files_total": "vector_io",
    "vector_io.chunks_processed_total": "vector_io",
    "vector_io.documents_retrieved_total": "vector_io",
    "vector_io.insert_duration_seconds": "vector_io",
    "vector_io.retrieval_duration_seconds": "vector_io",
    "requests_total": "server",
    "request_duration_seconds": "server",
    "concurrent_requests": "server",
    "responses.parameter_usage_total": "responses",
    "responses.tool_types_used_total": "responses",
    "responses.agentic_calls_total": "responses",
}
AUTO_SCOPES = {
    "gen_ai.client.token.usage": "opentelemetry.instrumentation.openai_v2",
    "http.server.duration": "opentelemetry.instrumentation.fastapi",
    "http.server.active_requests": "opentelemetry.instrumentation.fastapi",
    "http.server.request.duration": "opentelemetry.instrumentation.fastapi",
}


@pytest.mark.parametrize("server", catalog.SERVERS, ids=lambda s: s.key)
def test_each_instrument_is_recorded_under_its_meter(server):
    metrics = pytest.importorskip("opentelemetry.sdk.metrics.export")
    reader = metrics.InMemoryMetricReader()
    provider = demo.make_meter_provider([reader])
    recorder = demo.MetricRecorder(provider, server)
    for request in demo.generate_requests(len(demo.WARMUP)):
        recorder.record_all(request.metrics)
    scopes = {
        m.name: sm.scope.name
        for rm in reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    provider.shutdown()
    prefix = {"ogx": "ogx", "llama-stack": "llama_stack"}[server.key]
    expected = {f"{prefix}.{name}": f"{prefix}.{scope}" for name, scope in OWN_SCOPES.items()}
    expected.update(AUTO_SCOPES)
    if server is catalog.LLAMA_STACK:  # OGX 1.5's four newer instruments
        for name in (
            "inference.model_type_used_total",
            "vector_io.documents_retrieved_total",
            "responses.tool_types_used_total",
            "responses.agentic_calls_total",
        ):
            del expected[f"llama_stack.{name}"]
    assert scopes == expected
