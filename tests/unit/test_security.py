"""Security defaults that need no engine: hostile values cannot inject configuration, content redaction."""

import re

import pytest
import yaml

from telemetry_stack.errors import UsageError
from telemetry_stack.export import compose_files, kubernetes_files
from telemetry_stack.render import GENAI_CONTENT_PATTERN, render_files
from telemetry_stack.settings import build_settings
from telemetry_stack.stack import build_stack

HOSTILE = "pw'\"\n  injected: true\n{{ 7*7 }} ${HOME} $$ # not a comment"

# libyaml when present: the manifests carry every dashboard, and the pure-Python loader takes a second.
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def test_a_hostile_password_stays_one_value_in_every_output():
    stack = build_stack(build_settings(grafana_password=HOSTILE))
    assert stack.service("grafana").container.environment["GF_SECURITY_ADMIN_PASSWORD"] == HOSTILE

    compose = yaml.load(compose_files(stack)["compose.yaml"], Loader=FAST_LOADER)
    environment = compose["services"]["grafana"]["environment"]
    value = environment["GF_SECURITY_ADMIN_PASSWORD"] if isinstance(environment, dict) else None
    assert value is not None and value.replace("$$", "$") == HOSTILE  # compose escapes $ as $$
    assert "injected" not in compose["services"]["grafana"]

    documents = [d for d in yaml.load_all(kubernetes_files(stack)["kubernetes.yaml"], Loader=FAST_LOADER) if d]
    secrets = [d for d in documents if d["kind"] == "Secret"]
    assert len(secrets) == 1
    values = secrets[0].get("stringData") or {}
    assert HOSTILE in values.values()
    assert all("injected" not in d for d in documents)


@pytest.mark.parametrize("project", ["a\nb", "x: y", "../etc", "UPPER", "{{x}}", "-lead"])
def test_hostile_project_names_are_refused(project):
    with pytest.raises(UsageError):
        build_settings(project=project)


@pytest.mark.parametrize("ref", ["img\n  injected: true", "img latest", "-v/:/host"])
def test_hostile_image_refs_are_refused(ref):
    with pytest.raises(UsageError):
        build_settings(images=[f"grafana={ref}"])


def test_rendered_files_contain_no_user_value_at_all():
    """The rendered configs depend only on constants: whatever a user passes cannot reach them."""
    plain = render_files()
    stack = build_stack(build_settings(grafana_password=HOSTILE, project="other", ports=["grafana=3001"]))
    copied = {path: content for service in stack.services for path, content in service.files.items()}
    assert sorted(copied.values()) == sorted(plain.values())


def test_redact_content_is_off_by_default_and_drops_genai_content_when_on():
    off = yaml.safe_load(render_files()["otel-collector/config.yaml"])
    assert "transform/redact_genai_content" not in off["processors"]
    on = yaml.safe_load(render_files(redact_content=True)["otel-collector/config.yaml"])
    assert on["service"]["pipelines"]["traces"]["processors"] == [
        "memory_limiter",
        "transform/redact_genai_content",
        "batch",
    ]
    statements = [
        st
        for group in on["processors"]["transform/redact_genai_content"]["trace_statements"]
        for st in group["statements"]
    ]
    assert all(GENAI_CONTENT_PATTERN in st for st in statements)
    pattern = re.compile(GENAI_CONTENT_PATTERN)
    for key in (
        "gen_ai.prompt",
        "gen_ai.prompt.0.content",
        "gen_ai.completion.0.content",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
    ):
        assert pattern.match(key), key
    for key in (
        "gen_ai.request.model",
        "gen_ai.usage.input_tokens",
        "gen_ai.system",
        "gen_ai.prompt_tokens_extra",
        "gen_ai.tool.call.id",
        "gen_ai.tool.name",
        "gen_ai.tool.call.arguments_size",
    ):
        assert not pattern.match(key), key
    assert (
        build_stack(build_settings(redact_content=True)).service("otel-collector").config_hash
        != build_stack(build_settings()).service("otel-collector").config_hash
    )


def test_kubernetes_manifests_carry_nothing_derived_from_the_password():
    one = kubernetes_files(build_stack(build_settings(grafana_password="first-secret")))["kubernetes.yaml"]
    two = kubernetes_files(build_stack(build_settings(grafana_password="other-secret")))["kubernetes.yaml"]
    strip = lambda text: text.replace(b"first-secret", b"").replace(b"other-secret", b"")  # noqa: E731 - the Secret itself
    assert strip(one) == strip(two)
