"""`doctor`'s findings about ports, images and volumes, each with its fix, on an engine written out here."""

from __future__ import annotations

import socket
from dataclasses import asdict

import pytest

from telemetry_stack import doctor
from telemetry_stack.engines.base import ContainerInfo, PortBinding, ResourceInfo
from telemetry_stack.results import Check, DoctorReport
from telemetry_stack.settings import build_settings

OURS = {"io.llama-telemetry.managed": "true", "io.llama-telemetry.project": "default"}


class Engine:
    """Only what doctor asks: containers by label, images, volumes."""

    name = "docker"

    def __init__(self, containers=(), images=(), volumes=()) -> None:
        self._containers, self._images, self._volumes = list(containers), set(images), {v.name: v for v in volumes}

    def containers(self, labels):
        return [c for c in self._containers if all(c.labels.get(k) == v for k, v in labels.items())]

    def image_present(self, ref):
        return ref in self._images

    def volume(self, name):
        return self._volumes.get(name)


def _findings(engine, **settings) -> dict[str, dict]:
    return {c.title: asdict(c) for c in doctor._stack_checks(engine, build_settings(**settings))}


@pytest.fixture
def taken_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_port_another_program_holds_fails_with_the_flag_that_avoids_it(taken_port):
    found = _findings(Engine(), ports=[f"grafana={taken_port}"])
    check = found[f"port {taken_port} (grafana)"]
    assert (check["status"], check["detail"]) == ("fail", "taken by another program on 127.0.0.1")
    assert check["fix"] == "Free it, or use --port grafana=N (or --ports auto)."


def test_a_port_our_container_holds_is_named_not_failed(taken_port):
    ours = ContainerInfo(
        "id1",
        "grafana",
        "img",
        {**OURS, "io.llama-telemetry.project": "other"},
        "running",
        None,
        (),
        (PortBinding(3000, "127.0.0.1", taken_port),),
    )
    check = _findings(Engine([ours]), ports=[f"grafana={taken_port}"])[f"port {taken_port} (grafana)"]
    assert (check["status"], check["detail"]) == ("ok", "held by our container grafana (project other)")


def test_a_foreign_containers_port_is_not_called_ours(taken_port):
    foreign = ContainerInfo(
        "id2", "grafana", "img", {}, "running", None, (), (PortBinding(3000, "127.0.0.1", taken_port),)
    )
    assert (
        _findings(Engine([foreign]), ports=[f"grafana={taken_port}"])[f"port {taken_port} (grafana)"]["status"]
        == "fail"
    )


def test_images_missing_are_pulled_unless_pull_never():
    settings = build_settings()
    present = [settings.images["jaeger"]]
    found = _findings(Engine(images=present))
    assert found["image jaeger"]["status"] == "ok"
    assert found["image grafana"]["status"] == "info" and "will pull it" in found["image grafana"]["detail"]
    never = _findings(Engine(images=present), pull="never")["image grafana"]
    assert never["status"] == "fail"
    assert never["fix"] == f"`docker pull {settings.images['grafana']}` or `docker load` it first."


def test_volumes_ours_absent_or_foreign():
    ours = ResourceInfo("llama-telemetry-prometheus-data", "v1", OURS)
    foreign = ResourceInfo("llama-telemetry-grafana-data", "v2", {"owner": "someone"})
    found = _findings(Engine(volumes=[ours, foreign]))
    assert found["volume llama-telemetry-prometheus-data"]["status"] == "ok"
    grafana = found["volume llama-telemetry-grafana-data"]
    assert grafana["status"] == "fail" and grafana["fix"].startswith(
        "Remove it (`docker volume rm llama-telemetry-grafana-data`)"
    )
    assert (
        _findings(Engine(), project="p2")["volume llama-telemetry-p2-prometheus-data"]["detail"]
        == "absent (created by `up`)"
    )


def test_any_failure_fails_the_report():
    assert DoctorReport([Check("ok", "a", "b"), Check("info", "c", "d")]).to_json()["ok"] is True
    assert DoctorReport([Check("ok", "a", "b"), Check("fail", "c", "d", "fix")]).to_json()["ok"] is False


def test_selinux(tmp_path):
    enforce = tmp_path / "enforce"
    assert doctor.selinux_check(enforce).detail == "not enabled"
    enforce.write_text("1\n")
    assert doctor.selinux_check(enforce).detail.startswith("enforcing;")
    enforce.write_text("0\n")
    assert doctor.selinux_check(enforce).detail.startswith("permissive;")


@pytest.mark.parametrize("status, code", [("fail", 1), ("warn", 0), ("ok", 0)])
def test_doctor_exits_1_exactly_when_a_check_failed(cli, monkeypatch, status, code):
    from telemetry_stack.results import Check, DoctorReport

    report = DoctorReport([Check("ok", "SELinux", "not enabled"), Check(status, "port 3000 (grafana)", "x", "fix it")])
    monkeypatch.setattr(doctor, "run_checks", lambda settings: report)
    result = cli("doctor", "--json")
    assert result.code == code, result
    assert result.json == {
        "schema_version": 1,
        "ok": status != "fail",
        "checks": [
            {"status": "ok", "title": "SELinux", "detail": "not enabled", "fix": ""},
            {"status": status, "title": "port 3000 (grafana)", "detail": "x", "fix": "fix it"},
        ],
    }
