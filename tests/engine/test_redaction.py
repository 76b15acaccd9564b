"""`up --redact-content` on the real collector and the real Jaeger: a span carrying prompt, completion and tool-call
content reaches Jaeger without it, and with everything else it carried."""

from __future__ import annotations

import os
import time

import requests

from tests.engine.conftest import deployed, published_urls

CONTENT = {  # GenAI attributes that carry what the user, the model and the tools said
    "gen_ai.prompt.0.content": "my secret question",
    "gen_ai.completion.0.content": "the model's answer",
    "gen_ai.input.messages": '[{"role": "user"}]',
    "gen_ai.tool.call.arguments": '{"query": "private"}',
    "gen_ai.tool.call.result": "private result",
}
KEPT = {"gen_ai.request.model": "llama-3", "gen_ai.tool.name": "web_search", "gen_ai.tool.call.id": "call_1"}


def _attributes(values: dict) -> list[dict]:
    return [{"key": k, "value": {"stringValue": v}} for k, v in values.items()]


def test_redact_content_drops_genai_content_from_spans_and_span_events(engine_name, images):
    with deployed(engine_name, images, "redact", "--redact-content") as (_, up):
        urls = published_urls(up.json)
        trace_id, now = os.urandom(16).hex(), time.time_ns()
        span = {
            "traceId": trace_id,
            "spanId": os.urandom(8).hex(),
            "name": "chat llama-3",
            "kind": 3,
            "startTimeUnixNano": str(now),
            "endTimeUnixNano": str(now + 1_000_000),
            "attributes": _attributes({**CONTENT, **KEPT}),
            "events": [{"name": "gen_ai.choice", "timeUnixNano": str(now), "attributes": _attributes(CONTENT)}],
        }
        body = {
            "resourceSpans": [
                {
                    "resource": {"attributes": _attributes({"service.name": "redact-test"})},
                    "scopeSpans": [{"spans": [span]}],
                }
            ]
        }
        assert requests.post(f"{urls['otlp-http']}/v1/traces", json=body, timeout=5).status_code == 200
        deadline = time.monotonic() + 30
        while True:
            answer = requests.get(f"{urls['jaeger']}/api/traces/{trace_id}", timeout=5)
            if answer.status_code == 200 and answer.json().get("data"):
                break
            assert time.monotonic() < deadline, answer.text
            time.sleep(0.5)
        (stored,) = answer.json()["data"][0]["spans"]
        tags = {t["key"]: t["value"] for t in stored["tags"]}
        assert not set(CONTENT) & set(tags), tags
        assert {k: tags.get(k) for k in KEPT} == KEPT
        (event,) = stored["logs"]
        assert {f["key"] for f in event["fields"]} == {"event"}, event  # only Jaeger's own event-name field is left
        # Logs (GenAI content capture's events among them) have nowhere to go: the collector refuses them, which is
        # why `env` prints OTEL_LOGS_EXPORTER=none.
        logs = requests.post(f"{urls['otlp-http']}/v1/logs", json={"resourceLogs": []}, timeout=5)
        assert logs.status_code == 404, logs.text
