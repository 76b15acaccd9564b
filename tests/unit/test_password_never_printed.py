"""The Grafana password is never printed (README: "never printed"), whichever source gives it.

It is given by flag, by environment variable and by config file in turn (the Kubernetes manifests, slow to write,
once with a different password from each source); every command that can run without an engine is run with it
and its stdout and stderr are searched, for the password and for the Basic login header made from it. Each run also proves the password arrived (the
`config` row says it is set from that source; the compose file and the Kubernetes Secret carry it), so a
password that was silently dropped cannot pass for one that was hidden. The rendered files hold it exactly where
they must and nowhere else: the compose file's Grafana environment and the Kubernetes Secret.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from telemetry_stack.settings import build_settings
from tests.unit.inprocess import invoke

PASSWORD = "Zq7-unique-Pw-4711"
LOGIN_HEADER = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
# libyaml when present: the Kubernetes manifests carry every dashboard.
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def given(source: str, work: Path) -> tuple[list[str], dict[str, str], str]:
    """(arguments, environment, the source `config` must name) giving PASSWORD from that source."""
    if source == "flag":
        return ["--grafana-password", PASSWORD], {}, "flag"
    if source == "env":
        return [], {"LLAMA_TELEMETRY_GRAFANA_PASSWORD": PASSWORD}, "env LLAMA_TELEMETRY_GRAFANA_PASSWORD"
    path = work / "llama-telemetry.yaml"  # found in the working directory
    path.write_text(f"grafana_password: {PASSWORD}\n")
    return [], {}, f"file {path}"


SOURCES = ["flag", "env", "file"]


def assert_not_printed(result) -> None:
    assert PASSWORD not in result.stdout and PASSWORD not in result.stderr
    assert PASSWORD.lower() not in (result.stdout + result.stderr).lower()
    assert LOGIN_HEADER not in result.stdout + result.stderr


def where(value, secret: str = PASSWORD, path: tuple = ()) -> list[tuple]:
    """Every place in parsed YAML/JSON whose key or string value contains the secret."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if secret in str(key):
                found.append((*path, "<key>", key))
            found += where(item, secret, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += where(item, secret, (*path, index))
    elif isinstance(value, str) and secret in value:
        found.append((*path, value))
    return found


@pytest.mark.parametrize("source", SOURCES)
def test_config_shows_that_it_is_set_and_where_from_but_not_the_password(source, tmp_path):
    args, env, named = given(source, tmp_path)
    text = invoke("config", *args, env=env, cwd=tmp_path)
    assert text.code == 0, text.stderr
    assert_not_printed(text)
    (row,) = [line.split() for line in text.stdout.splitlines() if line.split()[:1] == ["grafana_password"]]
    assert row == ["grafana_password", "(set,", "hidden)", *named.split()]
    document = invoke("config", "--json", *args, env=env, cwd=tmp_path)
    assert document.code == 0, document.stderr
    assert_not_printed(document)
    assert document.json["settings"]["grafana_password"] == {"value": "(set, hidden)", "source": named}


@pytest.mark.parametrize("source", SOURCES)
def test_render_files_never_carry_the_password(source, tmp_path):
    args, env, _ = given(source, tmp_path)
    out = tmp_path / "out"
    result = invoke("render", "--output", str(out), *args, env=env, cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert_not_printed(result)
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) == 10
    assert [p for p in written if PASSWORD.encode() in p.read_bytes()] == []


@pytest.mark.parametrize("source", SOURCES)
def test_render_compose_carries_it_only_in_grafanas_environment(source, tmp_path):
    args, env, _ = given(source, tmp_path)
    out = tmp_path / "out"
    result = invoke("render", "--output", str(out), "--format", "compose", *args, env=env, cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert_not_printed(result)
    holding = sorted(
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()
    )
    assert holding == ["compose.yaml"]
    text = (out / "compose.yaml").read_text()
    assert text.count(PASSWORD) == 1
    assert where(yaml.load(text, Loader=FAST_LOADER)) == [
        ("services", "grafana", "environment", "GF_SECURITY_ADMIN_PASSWORD", PASSWORD)
    ]


def test_render_kubernetes_carries_it_only_in_the_secret(tmp_path):
    """Once (the manifests take a while to write), with a different password from each source: the flag's wins and
    lands in the Secret alone; the environment's and the config file's are nowhere."""
    beaten = ("Env-loses-Pw-0815", "File-loses-Pw-2342")
    (tmp_path / "llama-telemetry.yaml").write_text(f"grafana_password: {beaten[1]}\n")
    out = tmp_path / "out"
    result = invoke(
        "render",
        "--output",
        str(out),
        "--format",
        "kubernetes",
        "--grafana-password",
        PASSWORD,
        env={"LLAMA_TELEMETRY_GRAFANA_PASSWORD": beaten[0]},
        cwd=tmp_path,
    )
    assert result.code == 0, result.stderr
    assert_not_printed(result)
    text = (out / "kubernetes.yaml").read_text()
    assert text.count(PASSWORD) == 1
    documents = [d for d in yaml.load_all(text, Loader=FAST_LOADER) if d]
    places = [(d["kind"], d["metadata"]["name"], *place) for d in documents for place in where(d)]
    assert places == [("Secret", "grafana-admin", "stringData", "admin-password", PASSWORD)]
    for secret in beaten:
        assert secret not in text and secret not in result.stdout + result.stderr


@pytest.mark.parametrize("source", SOURCES)
def test_help_never_shows_it(source, tmp_path):
    args, env, _ = given(source, tmp_path)
    for command in ("up", "config", "render", "verify", "doctor"):
        result = invoke(command, "--help", *args, env=env, cwd=tmp_path)
        assert result.code == 0, result.stderr
        assert "--grafana-password" in result.stdout
        assert_not_printed(result)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (["config", "--bind", "nonsense"], 2, "--bind 'nonsense' is not an IP address."),
        (["config", "--json", "--bind", "nonsense"], 2, "--bind 'nonsense' is not an IP address."),
        (["config", "--timeout", "soon"], 2, "Invalid value for '--timeout'"),
        (["config", "--pull", "sometimes"], 2, "--pull 'sometimes' is not a pull policy."),
        (["config", "--port", "grafana=9090"], 2, "both use host port 9090"),
        (["config", "--ogx-metrics", "0"], 2, "--ogx-metrics '0'"),
        (["render", "--json", "--output", "taken/sub"], 1, "Could not write to taken/sub"),
        (["up", "--bogus"], 2, "No such option: --bogus"),
    ],
)
def test_error_messages_never_show_it(source, args, code, error, tmp_path):
    flags, env, _ = given(source, tmp_path)
    (tmp_path / "taken").write_text("a file where a directory is needed\n")
    result = invoke(*args, *flags, env=env, cwd=tmp_path)
    assert result.code == code, result
    assert error in result.stderr
    assert_not_printed(result)


def test_a_config_file_with_a_syntax_error_is_reported_without_its_content(tmp_path):
    (tmp_path / "llama-telemetry.yaml").write_text(f"grafana_password: {PASSWORD}\nproject: [unclosed {PASSWORD}\n")
    result = invoke("config", cwd=tmp_path)
    assert result.code == 2
    assert "is not valid YAML" in result.stderr
    assert_not_printed(result)


def test_beyond_loopback_the_password_is_required_and_still_not_shown(tmp_path):
    refused = invoke("config", "--bind", "0.0.0.0", cwd=tmp_path)
    assert refused.code == 2 and "default password 'admin'" in refused.stderr
    accepted = invoke("config", "--json", "--bind", "0.0.0.0", "--grafana-password", PASSWORD, cwd=tmp_path)
    assert accepted.code == 0, accepted.stderr
    assert_not_printed(accepted)


def test_settings_and_their_sources_never_hold_it_in_their_repr(tmp_path):
    settings = build_settings(grafana_password=PASSWORD, bind="0.0.0.0")
    assert settings.grafana_password == PASSWORD
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings)
    assert PASSWORD not in repr(dict(settings.sources))


def test_the_container_spec_and_service_never_show_it_in_their_repr():
    from telemetry_stack.stack import build_stack

    stack = build_stack(build_settings(grafana_password="hunter2-in-a-repr"))
    grafana = stack.service("grafana")
    assert grafana.container.environment["GF_SECURITY_ADMIN_PASSWORD"] == "hunter2-in-a-repr"  # it is there
    assert "hunter2-in-a-repr" not in repr(grafana) and "hunter2-in-a-repr" not in repr(stack)
