"""flag > environment > config file > default, for every option and every pair of sources, with the source recorded.

Each option is written out below with two values a user could give (A and B), how each source spells them, and
the effective value and the `config` row each must produce. Every precedence is checked both ways round (A over
B and B over A), through `build_settings` and through the real CLI (`llama-telemetry config --json`), and one
subprocess run of the installed entry point mixes every source at once. Then config file discovery.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from telemetry_stack.errors import UsageError
from telemetry_stack.settings import Settings, build_settings
from tests.unit.inprocess import invoke


@dataclass(frozen=True)
class Option:
    name: str  # build_settings' keyword, and the key `sources` records it under
    flags: tuple[tuple[str, ...], tuple[str, ...]]  # the command-line arguments giving A, B
    env: str  # the environment variable
    env_values: tuple[str, str]
    file_key: str
    file_values: tuple[Any, Any]  # as YAML gives them
    given: tuple[Any, Any]  # as build_settings receives them from a flag or a variable
    read: str  # how to read the effective value from Settings: an attribute, or attribute[key]
    effective: tuple[Any, Any, Any]  # for A, for B, and the default
    row: str  # the row of `llama-telemetry config`
    shown: tuple[Any, Any, Any]  # that row's value for A, B and the default (None: no row)


OPTIONS = (
    Option(
        "engine",
        (("--container", "docker"), ("--container", "podman")),
        "LLAMA_TELEMETRY_CONTAINER",
        ("docker", "podman"),
        "container",
        ("docker", "podman"),
        ("docker", "podman"),
        "engine",
        ("docker", "podman", None),
        "container",
        ("docker", "podman", "auto-detect"),
    ),
    Option(
        "project",
        (("--project", "alpha"), ("--project", "beta")),
        "LLAMA_TELEMETRY_PROJECT",
        ("alpha", "beta"),
        "project",
        ("alpha", "beta"),
        ("alpha", "beta"),
        "project",
        ("alpha", "beta", "default"),
        "project",
        ("alpha", "beta", "default"),
    ),
    Option(
        "images",
        (("--image", "grafana=example.org/a/grafana:1"), ("--image", "grafana=example.org/b/grafana:2")),
        "LLAMA_TELEMETRY_IMAGE",
        ("grafana=example.org/a/grafana:1", "grafana=example.org/b/grafana:2"),
        "images",
        ({"grafana": "example.org/a/grafana:1"}, {"grafana": "example.org/b/grafana:2"}),
        (["grafana=example.org/a/grafana:1"], ["grafana=example.org/b/grafana:2"]),
        "images[grafana]",
        ("example.org/a/grafana:1", "example.org/b/grafana:2", "docker.io/grafana/grafana:12.4.14"),
        "images.grafana",
        ("example.org/a/grafana:1", "example.org/b/grafana:2", "docker.io/grafana/grafana:12.4.14"),
    ),
    Option(
        "ports",
        (("--port", "grafana=3101"), ("--port", "grafana=3202")),
        "LLAMA_TELEMETRY_PORT",
        ("grafana=3101", "grafana=3202"),
        "ports",
        ({"grafana": 3101}, {"grafana": 3202}),
        (["grafana=3101"], ["grafana=3202"]),
        "ports[grafana]",
        (3101, 3202, 3000),
        "ports.grafana",
        ("3101", "3202", "3000"),
    ),
    Option(  # one value only (auto): which source won shows in `sources`
        "ports_auto",
        (("--ports", "auto"), ("--ports", "auto")),
        "LLAMA_TELEMETRY_PORTS",
        ("auto", "auto"),
        "ports",
        ("auto", "auto"),
        (True, True),
        "ports_auto",
        (True, True, False),
        "ports",
        ("auto", "auto", None),
    ),
    Option(
        "bind",
        (("--bind", "127.0.0.2"), ("--bind", "127.0.0.3")),
        "LLAMA_TELEMETRY_BIND",
        ("127.0.0.2", "127.0.0.3"),
        "bind",
        ("127.0.0.2", "127.0.0.3"),
        ("127.0.0.2", "127.0.0.3"),
        "bind",
        ("127.0.0.2", "127.0.0.3", "127.0.0.1"),
        "bind",
        ("127.0.0.2", "127.0.0.3", "127.0.0.1"),
    ),
    Option(
        "pull",
        (("--pull", "always"), ("--pull", "never")),
        "LLAMA_TELEMETRY_PULL",
        ("always", "never"),
        "pull",
        ("always", "never"),
        ("always", "never"),
        "pull",
        ("always", "never", "missing"),
        "pull",
        ("always", "never", "missing"),
    ),
    Option(
        "timeout",
        (("--timeout", "7"), ("--timeout", "9.5")),
        "LLAMA_TELEMETRY_TIMEOUT",
        ("7", "9.5"),
        "timeout",
        (7, 9.5),
        (7.0, 9.5),
        "timeout",
        (7.0, 9.5, 120.0),
        "timeout",
        ("7", "9.5", "120"),
    ),
    Option(  # never shown: which source won shows in `sources`, the value in Settings
        "grafana_password",
        (("--grafana-password", "first-Pw-1"), ("--grafana-password", "second-Pw-2")),
        "LLAMA_TELEMETRY_GRAFANA_PASSWORD",
        ("first-Pw-1", "second-Pw-2"),
        "grafana_password",
        ("first-Pw-1", "second-Pw-2"),
        ("first-Pw-1", "second-Pw-2"),
        "grafana_password",
        ("first-Pw-1", "second-Pw-2", "admin"),
        "grafana_password",
        ("(set, hidden)", "(set, hidden)", "(default: admin)"),
    ),
    Option(
        "redact_content",
        (("--redact-content",), ("--keep-content",)),
        "LLAMA_TELEMETRY_REDACT_CONTENT",
        ("true", "false"),
        "redact_content",
        (True, False),
        (True, False),
        "redact_content",
        (True, False, False),
        "redact_content",
        ("true", "false", "false"),
    ),
    Option(
        "logs",
        (("--logs",), ("--no-logs",)),
        "LLAMA_TELEMETRY_LOGS",
        ("true", "false"),
        "logs",
        (True, False),
        (True, False),
        "logs",
        (True, False, False),
        "logs",
        ("true", "false", "false"),
    ),
    Option(
        "ogx_metrics",
        (("--ogx-metrics", "9464"), ("--ogx-metrics", "ogx.example.com:9100")),
        "LLAMA_TELEMETRY_OGX_METRICS",
        ("9464", "ogx.example.com:9100"),
        "ogx_metrics",
        (9464, "ogx.example.com:9100"),
        ("9464", "ogx.example.com:9100"),
        "ogx_metrics",
        ("host.containers.internal:9464", "ogx.example.com:9100", None),
        "ogx_metrics",
        ("host.containers.internal:9464", "ogx.example.com:9100", "(none)"),
    ),
)
BY_NAME = {option.name: option for option in OPTIONS}

# (the sources given, the winner first); every one is checked with A winning over B and with B winning over A.
PAIRS = {
    "flag-beats-env": ("flag", "env"),
    "flag-beats-file": ("flag", "file"),
    "env-beats-file": ("env", "file"),
    "flag-beats-env-and-file": ("flag", "env", "file"),
    "file-beats-default": ("file",),
}
CASES = [(pair, sources, winner) for pair, sources in PAIRS.items() for winner in (0, 1)]
BY_OPTION = {"argnames": "option", "argvalues": OPTIONS, "ids": [option.name for option in OPTIONS]}


def effective(settings: Settings, option: Option) -> Any:
    attribute, _, key = option.read.partition("[")
    value = getattr(settings, attribute)
    return value[key.rstrip("]")] if key else value


def source_name(level: str, option: Option, path: Path) -> str:
    return {"flag": "flag", "env": f"env {option.env}", "file": f"file {path}"}[level]


def test_every_option_build_settings_takes_is_checked_here():
    keywords = set(inspect.signature(build_settings).parameters) - {"config_file", "sources"}
    assert keywords == set(BY_NAME), "add the new option to OPTIONS"


def build(option: Option, sources: tuple[str, ...], winner: int, path: Path) -> Settings:
    kwargs: dict[str, Any] = {}
    given_sources = {}
    for index, level in enumerate(sources):
        pick = winner if index == 0 else 1 - winner
        if level == "file":
            path.write_text(yaml.safe_dump({option.file_key: option.file_values[pick]}))
            kwargs["config_file"] = path
        elif index == 0:  # a flag or a variable: build_settings only hears of the one that won
            kwargs[option.name] = option.given[pick]
            if level == "env":
                given_sources[option.name] = f"env {option.env}"
    return build_settings(**kwargs, sources=given_sources)


@pytest.mark.parametrize(**BY_OPTION)
def test_build_settings_precedence(option, tmp_path):
    """build_settings gets flags and variables alike (as given values, `sources` says which): given > file.
    Every pair of sources, each way round (A over B, B over A)."""
    path = tmp_path / "llama-telemetry.yaml"
    wrong = []
    for pair, sources, winner in CASES:
        settings = build(option, sources, winner, path)
        source = source_name(sources[0], option, path)
        got = [effective(settings, option), settings.sources[option.name]]
        expected = [option.effective[winner], source]
        if "." in option.row:  # images and ports: each service's own source too
            got.append(settings.sources.get(option.row))
            expected.append(source)
        if got != expected:
            wrong.append(f"{pair}, {'AB'[winner]} wins: got {got}, expected {expected}")
    assert wrong == []


@pytest.mark.parametrize(**BY_OPTION)
def test_build_settings_defaults(option):
    settings = build_settings()
    assert effective(settings, option) == option.effective[2]
    assert settings.sources[option.name] == "default"
    if "." in option.row:
        assert settings.sources.get(option.row, "default") == "default"


def shown(result) -> dict[str, Any]:
    assert result.code == 0, result.stderr
    return result.json


def cli_config(option: Option, sources: tuple[str, ...], winner: int, path: Path) -> dict:
    args: list[str] = []
    env: dict[str, str] = {}
    for index, level in enumerate(sources):
        pick = winner if index == 0 else 1 - winner
        if level == "flag":
            args += option.flags[pick]
        elif level == "env":
            env[option.env] = option.env_values[pick]
        else:
            path.write_text(yaml.safe_dump({option.file_key: option.file_values[pick]}))
            args += ["--config", str(path)]
    return shown(invoke("config", "--json", *args, env=env))


@pytest.mark.parametrize(**BY_OPTION)
def test_cli_precedence(option, tmp_path):
    """`llama-telemetry config --json` with the value given by flag, variable and config file: every pair of
    sources, each way round."""
    path = tmp_path / "given.yaml"
    wrong = []
    for pair, sources, winner in CASES:
        document = cli_config(option, sources, winner, path)
        got = (document["config_file"], document["settings"].get(option.row))
        expected = (
            str(path) if "file" in sources else None,
            {"value": option.shown[winner], "source": source_name(sources[0], option, path)},
        )
        if got != expected:
            wrong.append(f"{pair}, {'AB'[winner]} wins: got {got}, expected {expected}")
    assert wrong == []


@pytest.mark.parametrize(**BY_OPTION)
def test_cli_defaults(option):
    settings = shown(invoke("config", "--json"))["settings"]
    if option.shown[2] is None:
        assert option.row not in settings
    else:
        assert settings[option.row] == {"value": option.shown[2], "source": "default"}


def test_every_source_at_once_through_the_installed_entry_point(cli, tmp_path):
    """One real `python -m telemetry_stack config --json` run: each option from another mix of sources."""
    config = tmp_path / "llama-telemetry.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "container": "podman",
                "project": "from-file",
                "images": {"grafana": "example.org/file/grafana:1", "jaeger": "example.org/file/jaeger:1"},
                "ports": {"grafana": 3303, "prometheus": 9393},
                "bind": "127.0.0.4",
                "pull": "always",
                "timeout": 33,
                "grafana_password": "file-secret-pw",
                "redact_content": True,
                "logs": True,
                "ogx_metrics": "from-file.example:1",
            }
        )
    )
    env = {
        "LLAMA_TELEMETRY_PROJECT": "from-env",  # beats the file
        "LLAMA_TELEMETRY_PORT": "grafana=3202",  # beats the file, for grafana alone
        "LLAMA_TELEMETRY_PORTS": "auto",  # the file's ports are a mapping: this alone turns auto on
        "LLAMA_TELEMETRY_BIND": "127.0.0.5",  # beaten by the flag
        "LLAMA_TELEMETRY_REDACT_CONTENT": "false",  # beats the file's true
        "LLAMA_TELEMETRY_OGX_METRICS": "from-env.example:2",  # beaten by the flag
        "LLAMA_TELEMETRY_GRAFANA_PASSWORD": "env-secret-pw",  # beats the file
    }
    flags = ["--bind", "127.0.0.6", "--image", "grafana=example.org/flag/grafana:3", "--ogx-metrics", "9100"]
    document = cli("config", "--json", *flags, env=env, cwd=tmp_path).json
    file = f"file {config}"
    assert document["config_file"] == str(config)
    rows = {name: (row["value"], row["source"]) for name, row in document["settings"].items()}
    assert {name: rows[name] for name in EVERY_SOURCE} == {
        "container": ("podman", file),
        "project": ("from-env", "env LLAMA_TELEMETRY_PROJECT"),
        "bind": ("127.0.0.6", "flag"),
        "pull": ("always", file),
        "timeout": ("33", file),
        "grafana_password": ("(set, hidden)", "env LLAMA_TELEMETRY_GRAFANA_PASSWORD"),
        "redact_content": ("false", "env LLAMA_TELEMETRY_REDACT_CONTENT"),
        "logs": ("true", file),
        "ogx_metrics": ("host.containers.internal:9100", "flag"),
        "ports": ("auto", "env LLAMA_TELEMETRY_PORTS"),
        # images and ports merge per service: the file's jaeger and prometheus stay, the flag's/env's grafana wins
        "images.grafana": ("example.org/flag/grafana:3", "flag"),
        "images.jaeger": ("example.org/file/jaeger:1", file),
        "images.prometheus": ("docker.io/prom/prometheus:v3.16.0", "default"),
        "ports.grafana": ("3202", "env LLAMA_TELEMETRY_PORT"),
        "ports.prometheus": ("9393", file),
        "ports.jaeger": ("16686", "default"),
    }


EVERY_SOURCE = (
    "container",
    "project",
    "bind",
    "pull",
    "timeout",
    "grafana_password",
    "redact_content",
    "logs",
    "ogx_metrics",
    "ports",
    "images.grafana",
    "images.jaeger",
    "images.prometheus",
    "ports.grafana",
    "ports.prometheus",
    "ports.jaeger",
)


def test_merged_images_and_ports_name_each_services_own_source(tmp_path):
    """`config` names each service's image and port source, not the option's (a file's jaeger is not the flag's)."""
    config = tmp_path / "c.yaml"
    config.write_text("images:\n  jaeger: example.org/file/jaeger:1\nports:\n  prometheus: 9393\n")
    rows = shown(
        invoke("config", "--json", "--config", str(config), "--image", "grafana=g:1", "--port", "grafana=3001")
    )
    settings = rows["settings"]
    assert settings["images.grafana"] == {"value": "g:1", "source": "flag"}
    assert settings["ports.grafana"] == {"value": "3001", "source": "flag"}
    assert settings["images.jaeger"] == {"value": "example.org/file/jaeger:1", "source": f"file {config}"}
    assert settings["ports.prometheus"] == {"value": "9393", "source": f"file {config}"}


def test_images_and_ports_merge_per_service_across_file_and_flag(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("images:\n  jaeger: example.org/file/jaeger:1\nports:\n  prometheus: 9393\n  jaeger: 16000\n")
    settings = build_settings(config_file=config, images=["grafana=g:1"], ports=["jaeger=16001"])
    assert dict(settings.images) == {
        **dict(build_settings().images),  # every other service keeps its pinned default
        "jaeger": "example.org/file/jaeger:1",
        "grafana": "g:1",
    }
    assert {key: settings.ports[key] for key in ("jaeger", "otlp-grpc", "otlp-http", "collector-health")} == {
        "jaeger": 16001,
        "otlp-grpc": 4317,
        "otlp-http": 4318,
        "collector-health": 13133,
    }
    assert (settings.ports["prometheus"], settings.ports["grafana"]) == (9393, 3000)
    # Under --ports auto, every port named anywhere stays as given.
    assert set(build_settings(config_file=config, ports=["grafana=3001"], ports_auto=True).fixed_ports) == {
        "prometheus",
        "jaeger",
        "grafana",
    }


# ------------------------------------------------------------------------------------- config file discovery


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def places(tmp_path):
    """A working directory, a home and an XDG config directory, each empty."""
    work, home, xdg = tmp_path / "work", tmp_path / "home", tmp_path / "xdg"
    for directory in (work, home, xdg):
        directory.mkdir()
    return work, home, xdg


def project_from(*args: str, cwd: Path, env: dict[str, str]) -> tuple[str, str | None]:
    document = shown(invoke("config", "--json", *args, cwd=cwd, env=env))
    return document["settings"]["project"]["value"], document["config_file"]


def test_config_file_discovery_order(places):
    work, home, xdg = places
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(xdg)}
    assert project_from(cwd=work, env=env) == ("default", None)
    home_file = write(home / ".config" / "llama-telemetry" / "config.yaml", "project: from-home\n")
    assert project_from(cwd=work, env={"HOME": str(home), "XDG_CONFIG_HOME": ""}) == ("from-home", str(home_file))
    xdg_file = write(xdg / "llama-telemetry" / "config.yaml", "project: from-xdg\n")
    assert project_from(cwd=work, env=env) == ("from-xdg", str(xdg_file))  # XDG_CONFIG_HOME before ~/.config
    cwd_file = write(work / "llama-telemetry.yaml", "project: from-cwd\n")
    assert project_from(cwd=work, env=env) == ("from-cwd", str(cwd_file))  # ./llama-telemetry.yaml before both
    given = write(work / "elsewhere" / "mine.yaml", "project: from-flag\n")
    assert project_from("--config", str(given), cwd=work, env=env) == ("from-flag", str(given))  # --config first
    assert project_from(cwd=work, env={**env, "LLAMA_TELEMETRY_CONFIG": str(given)}) == ("from-flag", str(given))


def test_a_missing_config_file_is_one_line_exit_2(places):
    work, home, xdg = places
    write(work / "llama-telemetry.yaml", "project: from-cwd\n")  # never a fallback for a named file
    result = invoke("config", "--config", "nowhere.yaml", cwd=work, env={"HOME": str(home)})
    assert (result.code, result.stdout) == (2, "")
    assert (
        result.stderr
        == "error: --config nowhere.yaml: no such file. Name an existing YAML file, or leave --config out.\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("colour: blue\n", "unknown key 'colour'"),
        ("project: x\nport: {grafana: 1}\n", "unknown key 'port'"),
        ("- project\n", "must be a YAML mapping of settings"),
        ("project: [unclosed\n", "is not valid YAML (line 2)"),
        ("ports: 3000\n", "ports must be a mapping"),
    ],
)
def test_a_bad_config_file_is_refused_and_named(content, message, places):
    work, home, _ = places
    path = write(work / "llama-telemetry.yaml", content)
    with pytest.raises(UsageError) as caught:
        build_settings(config_file=path)
    assert message in caught.value.one_line() and str(path) in caught.value.one_line()
    result = invoke("config", cwd=work, env={"HOME": str(home)})
    assert result.code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: Config file {path}") and result.stderr.count("\n") == 1
    assert message in result.stderr
