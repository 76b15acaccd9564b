"""Explicit histogram buckets, as the packages that record those instruments declare them (scripts/check_catalog.py
compares the catalog with the published wheels, over the network; these are the same facts, offline)."""

from __future__ import annotations

from telemetry_stack import catalog

# telemetry/vector_io_metrics.py of both servers (seconds)
VECTOR = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# opentelemetry-util-genai: powers of 4, from 1 to 4**13 tokens
TOKENS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
# opentelemetry-instrumentation's HTTP_DURATION_HISTOGRAM_BUCKETS_NEW (seconds)
HTTP = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)


def test_explicit_buckets_are_the_recording_packages_own():
    assert {i.name: i.buckets for i in catalog.INSTRUMENTS if i.buckets is not None} == {
        "vector_io.insert_duration_seconds": VECTOR,
        "vector_io.retrieval_duration_seconds": VECTOR,
        "gen_ai.client.token.usage": TOKENS,
        "http.server.request.duration": HTTP,
    }
