"""The config hash on each Kubernetes Deployment's pod template: it rolls a service's pods when that service's
configuration changes, and reveals nothing about the Grafana password (manifests are shared and committed)."""

from __future__ import annotations

import re

from telemetry_stack.export import kubernetes_documents
from telemetry_stack.settings import build_settings
from telemetry_stack.stack import build_stack


def _hashes(**options) -> dict[str, str]:
    documents = kubernetes_documents(build_stack(build_settings(grafana_password="one-secret", **options)))
    return {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["annotations"]["io.llama-telemetry.config-hash"]
        for d in documents
        if d["kind"] == "Deployment"
    }


def test_each_deployment_carries_its_own_config_hash():
    hashes = _hashes()
    assert set(hashes) == {"jaeger", "otel-collector", "prometheus", "grafana"}
    assert all(re.fullmatch(r"[0-9a-f]{16}", value) for value in hashes.values()), hashes
    assert len(set(hashes.values())) == 4


def test_a_changed_configuration_rolls_only_the_services_it_changes():
    before = _hashes()
    image = _hashes(images=["grafana=docker.io/grafana/grafana:12.4.15"])
    assert image["grafana"] != before["grafana"]
    assert {k: v for k, v in image.items() if k != "grafana"} == {k: v for k, v in before.items() if k != "grafana"}
    redacted = _hashes(redact_content=True)  # only the collector's config file changes
    assert redacted["otel-collector"] != before["otel-collector"]
    assert {k: v for k, v in redacted.items() if k != "otel-collector"} == {
        k: v for k, v in before.items() if k != "otel-collector"
    }


def test_the_hash_does_not_depend_on_the_grafana_password():
    documents = kubernetes_documents(build_stack(build_settings(grafana_password="another-secret")))
    other = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["annotations"]["io.llama-telemetry.config-hash"]
        for d in documents
        if d["kind"] == "Deployment"
    }
    assert other == _hashes()
