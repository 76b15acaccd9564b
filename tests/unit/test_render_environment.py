"""How templates are found and rendered: a missing templates/ directory says how to fix it, and a template that
names a value the renderer does not provide fails instead of writing an empty value into a config file."""

from __future__ import annotations

import jinja2
import pytest

from telemetry_stack import render


def test_a_missing_resource_directory_says_to_reinstall():
    with pytest.raises(FileNotFoundError) as missing:
        render.resource_dir("no-such-resources")
    assert str(missing.value) == "llama-telemetry is missing its no-such-resources/ directory; reinstall the package."


def test_a_template_naming_an_unknown_value_fails_to_render():
    template = render._environment().from_string("endpoint: {{ ports.jaeger.no_such_port }}\n")
    with pytest.raises(jinja2.UndefinedError):
        template.render(render.template_context())
