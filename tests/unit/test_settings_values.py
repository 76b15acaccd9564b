"""Values at the edges of what settings accept, and how a refused value is named: where the user config file is,
config files that cannot be read, port and image limits, on/off words, and errors that name the variable or the
config file key a bad value came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemetry_stack.errors import UsageError
from telemetry_stack.settings import build_settings, load_config_file, user_config_path


def _refused(**options) -> str:
    with pytest.raises(UsageError) as refused:
        build_settings(**options)
    return refused.value.message


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "llama-telemetry.yaml"
    path.write_text(text)
    return path


def test_the_user_config_file_is_under_xdg_config_home_else_under_home():
    assert user_config_path({"XDG_CONFIG_HOME": "/x/conf", "HOME": "/home/u"}) == Path(
        "/x/conf/llama-telemetry/config.yaml"
    )
    assert user_config_path({"HOME": "/home/u"}) == Path("/home/u/.config/llama-telemetry/config.yaml")
    assert user_config_path({"XDG_CONFIG_HOME": "", "HOME": "/home/u"}) == Path(
        "/home/u/.config/llama-telemetry/config.yaml"
    )
    assert user_config_path({}) == Path.home() / ".config" / "llama-telemetry" / "config.yaml"


def test_a_config_file_that_cannot_be_read_is_named_with_the_reason(tmp_path):
    with pytest.raises(UsageError) as refused:
        load_config_file(tmp_path)  # a directory
    assert refused.value.message == f"Cannot read config file {tmp_path}: Is a directory."


def test_invalid_yaml_names_the_line_when_the_parser_knows_it(tmp_path):
    with pytest.raises(UsageError) as refused:
        load_config_file(_config(tmp_path, "project: a\npull: [never\n"))
    assert refused.value.message == f"Config file {tmp_path / 'llama-telemetry.yaml'} is not valid YAML (line 3)."
    with pytest.raises(UsageError) as refused:
        load_config_file(_config(tmp_path, "project: a\x07\n"))  # a control character: no line to name
    assert refused.value.message == f"Config file {tmp_path / 'llama-telemetry.yaml'} is not valid YAML."


@pytest.mark.parametrize("port", ["1", "65535"])
def test_ports_from_1_to_65535_are_accepted(port):
    assert build_settings(ports=[f"jaeger={port}"]).ports["jaeger"] == int(port)
    assert build_settings(ogx_metrics=port).ogx_metrics == f"host.containers.internal:{port}"


@pytest.mark.parametrize("port", ["0", "65536"])
def test_ports_outside_1_to_65535_are_refused(port):
    assert _refused(ports=[f"jaeger={port}"]) == f"--port jaeger={port}: a port is a whole number from 1 to 65535."
    assert _refused(ogx_metrics=port) == f"--ogx-metrics '{port}': the port must be a whole number from 1 to 65535."


@pytest.mark.parametrize("ref", ["docker.io/grafana/grafana:12\x074", "docker.io/grafana/\x1b[31mgrafana:12"])
def test_an_image_reference_with_control_characters_is_refused(ref):
    # Whitespace separates values before this check; a terminal escape or a bell does not.
    assert _refused(images=[f"grafana={ref}"]) == f"--image grafana={ref!r} is not an image reference."


def test_unknown_names_and_missing_values_name_the_option():
    assert _refused(images=["nope=x:1"]) == "--image: unknown name 'nope'."
    assert _refused(ports=["nope=1"]) == "--port: unknown name 'nope'."
    assert _refused(ports=["jaeger"]) == "--port expects KEY=VALUE, got 'jaeger'."


@pytest.mark.parametrize(
    "words, expected",
    [
        ({"redact_content": "on", "logs": "yes"}, (True, True)),
        ({"redact_content": "1", "logs": " TRUE "}, (True, True)),
        ({"redact_content": "off", "logs": "0"}, (False, False)),
        ({"redact_content": "no", "logs": "false"}, (False, False)),
    ],
)
def test_on_off_settings_accept_words_from_a_config_file(tmp_path, words, expected):
    text = "".join(f'{key}: "{value}"\n' for key, value in words.items())  # quoted: strings, not YAML booleans
    settings = build_settings(config_file=_config(tmp_path, text))
    assert (settings.redact_content, settings.logs) == expected


def test_a_bad_value_is_named_the_way_the_user_gave_it(tmp_path):
    from_env = _refused(pull="sometimes", sources={"pull": "env LLAMA_TELEMETRY_PULL"})
    assert from_env == "LLAMA_TELEMETRY_PULL 'sometimes' is not a pull policy."
    path = _config(tmp_path, "pull: sometimes\n")
    assert _refused(config_file=path) == f"pull in {path} 'sometimes' is not a pull policy."
    assert _refused(pull="sometimes") == "--pull 'sometimes' is not a pull policy."


def test_a_timeout_from_the_config_file_must_be_a_positive_number(tmp_path):
    path = _config(tmp_path, "timeout: soon\n")
    assert _refused(config_file=path) == f"timeout in {path} 'soon' is not a number of seconds."
    assert build_settings(timeout=0.5).timeout == 0.5
    assert _refused(timeout=-1) == "--timeout -1 must be a positive number of seconds."


def test_an_empty_ogx_metrics_value_means_none():
    # LLAMA_TELEMETRY_OGX_METRICS= (set, but empty) turns the scrape off rather than failing.
    assert build_settings(ogx_metrics="").ogx_metrics is None


def test_no_images_or_ports_given_as_none_means_the_defaults():
    settings = build_settings(images=None, ports=None)
    assert settings.images == build_settings().images and settings.ports == build_settings().ports
