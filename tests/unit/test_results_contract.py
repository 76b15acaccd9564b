"""The `--json` documents are a contract: each one written out here in full, key by key, as the README states it.

A renamed, dropped or retyped key fails here; a new key must be added here (and to the README) on purpose.
"""

from __future__ import annotations

import json

from telemetry_stack.engines.base import RebootReport
from telemetry_stack.results import (
    Check,
    DoctorReport,
    DownResult,
    GrafanaLogin,
    ServiceReport,
    StatusResult,
    UpResult,
    VerifyResult,
    VerifyStep,
    error_document,
)

URLS = {"grafana": "http://127.0.0.1:3000"}
ENV = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}


def _service(action: str = "") -> ServiceReport:
    return ServiceReport(
        "grafana", "grafana", "running", True, dict(URLS), "0123456789abcdef0123", "grafana/grafana:12", action
    )


def _stack_fields(**kinds: object) -> dict:
    return dict(
        engine="podman",
        engine_url="unix:///run/podman/podman.sock",
        project="default",
        network="llama-telemetry",
        grafana=GrafanaLogin("http://127.0.0.1:3000", "admin"),
        env=dict(ENV),
        **kinds,
    )


def _round_trip(document: dict) -> dict:
    return json.loads(json.dumps(document))  # what a consumer parses: every value must be plain JSON


def test_up_document():
    result = UpResult(
        services=[_service("created")], grafana_default_password=True, elapsed_seconds=12.5, **_stack_fields()
    )
    assert _round_trip(result.to_json()) == {
        "schema_version": 1,
        "engine": "podman",
        "engine_url": "unix:///run/podman/podman.sock",
        "project": "default",
        "network": "llama-telemetry",
        "healthy": True,
        "services": [
            {
                "name": "grafana",
                "container": "grafana",
                "state": "running",
                "healthy": True,
                "urls": {"grafana": "http://127.0.0.1:3000"},
                "id": "0123456789ab",
                "image": "grafana/grafana:12",
                "action": "created",
            }
        ],
        "grafana": {"url": "http://127.0.0.1:3000", "user": "admin"},
        "env": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
        "grafana_default_password": True,
        "elapsed_seconds": 12.5,
    }


def test_up_with_verify_nests_the_verify_document_without_its_version():
    steps = [VerifyStep("send a span over OTLP/HTTP", True, 0.01, "trace accepted")]
    result = UpResult(
        services=[_service("unchanged")], verify=VerifyResult("llama-telemetry-verify-1", steps), **_stack_fields()
    )
    assert _round_trip(result.to_json())["verify"] == {
        "ok": True,
        "service_name": "llama-telemetry-verify-1",
        "steps": [{"step": "send a span over OTLP/HTTP", "ok": True, "seconds": 0.01, "detail": "trace accepted"}],
    }


def test_status_document_has_no_action_and_says_what_a_reboot_does():
    unhealthy = ServiceReport("jaeger", "", "missing", False, {})
    result = StatusResult(
        services=[_service(), unhealthy],
        network_present=True,
        after_reboot=RebootReport(
            False, "podman-restart.service is not enabled", "systemctl enable podman-restart.service"
        ),
        **_stack_fields(),
    )
    document = _round_trip(result.to_json())
    assert document["healthy"] is False
    assert document["services"][1] == {
        "name": "jaeger",
        "container": "",
        "state": "missing",
        "healthy": False,
        "urls": {},
        "id": "",
        "image": "",
    }
    assert "action" not in document["services"][0]
    assert {k: document[k] for k in ("schema_version", "network_present", "after_reboot")} == {
        "schema_version": 1,
        "network_present": True,
        "after_reboot": {
            "comes_back": False,
            "detail": "podman-restart.service is not enabled",
            "fix": "systemctl enable podman-restart.service",
        },
    }
    assert list(document) == [
        "schema_version",
        "engine",
        "engine_url",
        "project",
        "network",
        "healthy",
        "services",
        "grafana",
        "env",
        "network_present",
        "after_reboot",
    ]


def test_down_document():
    result = DownResult(
        "docker", "unix:///var/run/docker.sock", "p1", ["p1-grafana", "p1-jaeger"], "llama-telemetry-p1"
    )
    result.kept_volumes.append("llama-telemetry-p1-grafana-data")
    assert _round_trip(result.to_json()) == {
        "schema_version": 1,
        "engine": "docker",
        "engine_url": "unix:///var/run/docker.sock",
        "project": "p1",
        "removed_containers": ["p1-grafana", "p1-jaeger"],
        "removed_network": "llama-telemetry-p1",
        "removed_volumes": [],
        "kept_volumes": ["llama-telemetry-p1-grafana-data"],
    }


def test_verify_document_fails_when_any_step_fails():
    steps = [VerifyStep("a", True, 0.1, "fine"), VerifyStep("b", False, 2.0, "not seen in time")]
    assert _round_trip(VerifyResult("svc", steps).to_json()) == {
        "schema_version": 1,
        "ok": False,
        "service_name": "svc",
        "steps": [
            {"step": "a", "ok": True, "seconds": 0.1, "detail": "fine"},
            {"step": "b", "ok": False, "seconds": 2.0, "detail": "not seen in time"},
        ],
    }


def test_doctor_document():
    report = DoctorReport([Check("ok", "SELinux", "not enabled"), Check("warn", "DOCKER_HOST", "refused", "Unset it.")])
    assert _round_trip(report.to_json()) == {
        "schema_version": 1,
        "ok": True,
        "checks": [
            {"status": "ok", "title": "SELinux", "detail": "not enabled", "fix": ""},
            {"status": "warn", "title": "DOCKER_HOST", "detail": "refused", "fix": "Unset it."},
        ],
    }
    assert DoctorReport([Check("fail", "engines", "none", "Start one.")]).to_json()["ok"] is False


def test_error_document():
    assert error_document("Port 3000 is in use.", 1) == {
        "schema_version": 1,
        "error": "Port 3000 is in use.",
        "exit_code": 1,
    }
