"""The deployer's decisions that need no engine: what `up` creates, keeps, restarts or replaces, when it
refuses to touch a name, how independent engine calls run, and how tightly health is polled."""

from __future__ import annotations

import threading

import pytest

from telemetry_stack import health
from telemetry_stack.engines.base import ContainerInfo, ResourceInfo
from telemetry_stack.engines.inspect import matching_containers
from telemetry_stack.errors import ConflictError
from telemetry_stack.health import FAST_POLL_INTERVAL, FAST_POLL_PERIOD, POLL_INTERVAL, Poller, poll_interval
from telemetry_stack.planning import CREATE, KEEP, RECREATE, START, Survey, check_ownership, make_plan, survey
from telemetry_stack.session import run_concurrently
from telemetry_stack.settings import build_settings
from telemetry_stack.stack import build_stack

STACK = build_stack(build_settings(project="plan"))
OURS = dict(STACK.labels)


def info_of(service, state="running", labels=None, networks=None) -> ContainerInfo:
    """What the engine would report for a container `up` created from this stack."""
    return ContainerInfo(
        id=f"id-{service.name}",
        name=service.container.name,
        image=service.container.image,
        labels=dict(service.container.labels) if labels is None else labels,
        state=state,
        exit_code=None,
        networks=(STACK.network,) if networks is None else networks,
    )


def deployed(**overrides) -> Survey:
    """A survey of the whole stack running as built; keyword arguments replace Survey fields."""
    existing = {s.name: info_of(s) for s in STACK.services}
    fields = {
        "existing": existing,
        "named": {i.name: i for i in existing.values()},
        "network": ResourceInfo(STACK.network, "net-id", OURS),
        "volumes": {name: ResourceInfo(name, name, OURS) for name in STACK.volumes},
        "images": {s.container.image: True for s in STACK.services},
    }
    fields.update(overrides)
    return Survey(**fields)


def nothing_there() -> Survey:
    names = {s.container.name: None for s in STACK.services}
    return deployed(existing={}, named=names, network=None, volumes={name: None for name in STACK.volumes})


class FakeEngine:
    """Answers the survey's reads from dictionaries (an Engine as deploy.py sees it; no SDK involved)."""

    def __init__(self, containers=(), networks=(), volumes=(), images=()):
        self._containers = {c.name: c for c in containers}
        self._networks = {n.name: n for n in networks}
        self._volumes = {v.name: v for v in volumes}
        self._images = set(images)
        self.asked: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def _ask(self, kind: str, name: str) -> None:
        with self._lock:
            self.asked.append((kind, name))

    def containers(self, labels):
        self._ask("containers", ",".join(f"{k}={v}" for k, v in sorted(labels.items())))
        return matching_containers(self._containers.values(), labels)

    def container(self, name):
        self._ask("container", name)
        return self._containers.get(name)

    def network(self, name):
        self._ask("network", name)
        return self._networks.get(name)

    def volume(self, name):
        self._ask("volume", name)
        return self._volumes.get(name)

    def image_present(self, ref):
        self._ask("image", ref)
        return ref in self._images

    def remove_container(self, container_id):
        raise AssertionError("nothing to remove here")


def test_an_empty_engine_gets_everything_created():
    plan = make_plan(STACK, nothing_there())
    assert set(plan.actions.values()) == {CREATE}
    assert plan.create_network
    assert sorted(plan.create_volumes) == sorted(STACK.volumes)


def test_a_healthy_stack_is_left_alone():
    plan = make_plan(STACK, deployed())
    assert set(plan.actions.values()) == {KEEP}
    assert not plan.create_network and plan.create_volumes == []


def test_stopped_containers_are_started_and_changed_ones_replaced():
    existing = {s.name: info_of(s) for s in STACK.services}
    existing["prometheus"] = info_of(STACK.service("prometheus"), state="exited")
    grafana = STACK.service("grafana")
    existing["grafana"] = info_of(
        grafana, labels={**grafana.container.labels, "io.llama-telemetry.config-hash": "older"}
    )
    existing["jaeger"] = info_of(STACK.service("jaeger"), networks=("some-other-network",))
    plan = make_plan(STACK, deployed(existing=existing))
    assert plan.actions == {"jaeger": RECREATE, "otel-collector": KEEP, "prometheus": START, "grafana": RECREATE}


def test_a_network_deleted_behind_our_back_means_new_containers_on_a_new_network():
    plan = make_plan(STACK, deployed(network=None))
    assert plan.create_network
    assert set(plan.actions.values()) == {RECREATE}  # a container cannot start on a network that is gone


def test_a_missing_data_volume_is_created_again():
    lost = STACK.volumes[0]
    plan = make_plan(
        STACK,
        deployed(volumes={name: (None if name == lost else ResourceInfo(name, name, OURS)) for name in STACK.volumes}),
    )
    assert plan.create_volumes == [lost]


def test_our_own_resources_pass_the_ownership_check():
    check_ownership("docker", STACK, deployed())
    check_ownership("podman", STACK, nothing_there())


@pytest.mark.parametrize("what", ["container", "network", "volume"])
def test_a_foreign_resource_under_one_of_our_names_is_refused(what):
    foreign = {"io.other": "x"}
    name = {"container": STACK.service("grafana").container.name, "network": STACK.network, "volume": STACK.volumes[0]}[
        what
    ]
    survey = nothing_there()
    if what == "container":
        survey.named[name] = ContainerInfo("other-id", name, "nginx", foreign, "running", None, ())
    elif what == "network":
        survey.network = ResourceInfo(name, "other-id", foreign)
    else:
        survey.volumes[name] = ResourceInfo(name, name, foreign)
    with pytest.raises(ConflictError) as raised:
        check_ownership("podman", STACK, survey)
    assert repr(name) in raised.value.message and "left untouched" in raised.value.message
    assert "podman" in raised.value.hint and "--project" in raised.value.hint


def test_another_projects_container_under_our_name_is_refused():
    grafana = STACK.service("grafana")
    theirs = info_of(grafana, labels={**grafana.container.labels, "io.llama-telemetry.project": "other"})
    with pytest.raises(ConflictError):
        check_ownership("docker", STACK, deployed(named={**deployed().named, theirs.name: theirs}))


def test_run_concurrently_runs_the_calls_at_the_same_time():
    meeting = threading.Barrier(3, timeout=5)  # breaks (and fails the test) unless all three wait at once
    results = run_concurrently({name: (lambda n=name: (meeting.wait(), n)[1]) for name in ("a", "b", "c")})
    assert results == {"a": "a", "b": "b", "c": "c"}


def test_survey_asks_for_every_name_of_the_project_and_feeds_the_checks():
    images = [s.container.image for s in STACK.services]
    grafana = STACK.service("grafana")
    foreign = ContainerInfo("x", grafana.container.name, "nginx", {"io.other": "1"}, "running", None, ())
    jaeger = info_of(STACK.service("jaeger"))
    engine = FakeEngine(
        containers=[foreign, jaeger], volumes=[ResourceInfo(STACK.volumes[0], "v", OURS)], images=images[:2]
    )

    found = survey(engine, "plan", images)
    expected = {("container", s.container.name) for s in STACK.services} | {("volume", v) for v in STACK.volumes}
    expected |= {("network", STACK.network)} | {("image", ref) for ref in images}
    assert expected <= set(engine.asked)
    assert found.existing == {"jaeger": jaeger}
    assert (
        found.named[grafana.container.name] == foreign
        and found.named[STACK.service("prometheus").container.name] is None
    )
    # Every name the project may have, an optional service's too (its leftovers must be found).
    assert found.network is None and found.volumes == {
        STACK.volumes[0]: engine._volumes[STACK.volumes[0]],
        STACK.volumes[1]: None,
        "llama-telemetry-plan-loki-data": None,
    }
    assert found.images == {ref: ref in images[:2] for ref in images}

    with pytest.raises(ConflictError, match="not created by llama-telemetry"):
        check_ownership("docker", STACK, found)
    plan = make_plan(STACK, found)
    assert plan.create_network and plan.create_volumes == [STACK.volumes[1]]


def test_run_concurrently_raises_the_first_failure_after_every_call_ended():
    finished = []

    def slow_failure():
        threading.Event().wait(0.05)
        finished.append("slow")
        raise ConflictError("first", "hint")

    def quick_failure():
        raise ValueError("second")

    # "First" is the order the calls were given in, so an error does not depend on thread timing.
    with pytest.raises(ConflictError, match="first"):
        run_concurrently({"slow": slow_failure, "quick": quick_failure})
    assert finished == ["slow"]  # nothing is left running behind the error


def test_health_is_polled_tightly_at_first_then_every_poll_interval():
    assert poll_interval(0.0) == FAST_POLL_INTERVAL < POLL_INTERVAL
    assert poll_interval(FAST_POLL_PERIOD - 0.01) == FAST_POLL_INTERVAL
    assert poll_interval(FAST_POLL_PERIOD) == POLL_INTERVAL == 0.1  # readiness is still noticed within ~100 ms


def test_the_poller_waits_what_poll_interval_says_between_probes(monkeypatch):
    answers = iter([False, False, False, True])
    asked = []
    monkeypatch.setattr(health, "probe", lambda url, timeout, headers: next(answers))
    monkeypatch.setattr(health, "poll_interval", lambda elapsed: asked.append(elapsed) or 0.0)
    changed = threading.Event()
    poller = Poller(["http://127.0.0.1:1/"], changed).start()
    assert poller.healthy.wait(5) and changed.is_set()
    assert len(asked) == 3 and asked == sorted(asked) and asked[0] < 1  # once after each failed probe


def test_the_poller_is_ready_only_when_every_url_answered_in_order_and_asks_none_twice(monkeypatch):
    # /health answers at once; /ready/a only on its second ask; /ready/b at once (but only asked after a).
    pending = {"http://h/health": [True], "http://h/ready/a": [False, True], "http://h/ready/b": [True]}
    asked = []

    def fake_probe(url, timeout, headers):
        asked.append((url, dict(headers)))
        return pending[url].pop(0)

    monkeypatch.setattr(health, "probe", fake_probe)
    monkeypatch.setattr(health, "poll_interval", lambda elapsed: 0.0)
    poller = Poller(list(pending), headers={"Authorization": "Basic x"}).start()
    assert poller.healthy.wait(5)
    assert [url for url, _ in asked] == ["http://h/health", "http://h/ready/a", "http://h/ready/a", "http://h/ready/b"]
    assert all(headers == {"Authorization": "Basic x"} for _, headers in asked)
