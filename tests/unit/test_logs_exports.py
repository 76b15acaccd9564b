"""With --logs, the compose and Kubernetes exports check Loki where it answers: /ready on its port 3100."""

from __future__ import annotations

from telemetry_stack.export import compose_files, kubernetes_documents
from telemetry_stack.settings import build_settings
from telemetry_stack.stack import build_stack


def test_compose_lists_lokis_health_endpoint():
    compose = compose_files(build_stack(build_settings(logs=True)))["compose.yaml"].decode()
    assert "#   loki: http://127.0.0.1:3100/ready\n" in compose


def test_kubernetes_probes_loki_on_its_ready_path_and_port():
    documents = kubernetes_documents(build_stack(build_settings(logs=True)))
    (loki,) = [d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "loki"]
    (container,) = loki["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "loki"}
    assert {"name": "loki", "containerPort": 3100, "protocol": "TCP"} in container["ports"]
