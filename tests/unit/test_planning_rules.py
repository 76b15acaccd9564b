"""Planning rules the other planning tests take for granted: the words `up` reports for each service, what counts as
ours when an engine gives no labels, and what the survey does with copies of a service only a crashed run leaves."""

from __future__ import annotations

from telemetry_stack import planning
from telemetry_stack.engines.base import ContainerInfo
from telemetry_stack.settings import build_settings
from telemetry_stack.stack import build_stack

OURS = {"io.llama-telemetry.managed": "true", "io.llama-telemetry.project": "rules"}


def _container(id_: str, service: str | None, name: str | None = None) -> ContainerInfo:
    labels = dict(OURS) if service is None else {**OURS, "io.llama-telemetry.service": service}
    return ContainerInfo(id_, name or f"rules-{service}", "img", labels, "running", None, ("llama-telemetry-rules",))


class Engine:
    """What planning asks of an engine: the project's containers (filtered as engines filter), and removals."""

    def __init__(self, containers: list[ContainerInfo]):
        self._containers = containers
        self.asked: list[dict[str, str]] = []
        self.removed: list[str] = []

    def containers(self, labels):
        self.asked.append(dict(labels))
        return [c for c in self._containers if all(c.labels.get(k) == v for k, v in labels.items())]

    def remove_container(self, container_id):
        self.removed.append(container_id)


def test_up_reports_each_service_with_the_documented_action_words():
    # README, "JSON output": services[].action is one of created, recreated, started, unchanged.
    assert (planning.CREATE, planning.RECREATE, planning.START, planning.KEEP) == (
        "created",
        "recreated",
        "started",
        "unchanged",
    )
    stack = build_stack(build_settings(project="rules"))
    named = {s.container.name: None for s in stack.services}
    nothing = planning.Survey({}, named, None, dict.fromkeys(stack.volumes), {})
    assert set(planning.make_plan(stack, nothing).actions.values()) == {"created"}


def test_a_resource_without_labels_is_not_ours():
    # Podman reports a container or volume created without labels as labels: null.
    assert planning.is_ours(None, "rules") is False
    assert planning.is_ours({}, "rules") is False
    assert planning.is_ours(OURS, "rules") is True
    assert planning.is_ours(OURS, "other") is False
    assert planning.is_ours({**OURS, "io.llama-telemetry.managed": "yes"}, "rules") is False


def test_the_survey_keeps_one_container_per_service_and_removes_the_extra_copies():
    first, copy = _container("a1", "jaeger"), _container("a2", "jaeger", name="rules-jaeger-copy")
    stranger = _container("b1", "nginx")  # our labels, but no service of ours
    unnamed = _container("c1", None)  # our labels, but no service label at all
    grafana = _container("d1", "grafana")
    engine = Engine([first, copy, stranger, unnamed, grafana])
    assert planning._existing_containers(engine, "rules") == {"jaeger": first, "grafana": grafana}
    assert engine.removed == ["a2", "b1", "c1"]
    assert engine.asked == [OURS]


def test_status_sees_every_container_of_the_project_by_service_and_removes_nothing():
    jaeger, grafana, unnamed = _container("a1", "jaeger"), _container("d1", "grafana"), _container("c1", None)
    engine = Engine([jaeger, grafana, unnamed, ContainerInfo("z", "z", "img", {"other": "1"}, "running", None, ())])
    assert planning.containers_by_service(engine, "rules") == {"jaeger": jaeger, "grafana": grafana, "": unnamed}
    assert engine.asked == [OURS] and engine.removed == []
