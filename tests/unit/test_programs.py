"""How the suite maps the pinned image tags to Go module versions and reads the release back from a build."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine import programs

CORE = "go.opentelemetry.io/collector"
CONTRIB = "github.com/open-telemetry/opentelemetry-collector-contrib"


def test_module_versions_of_the_release_tags():
    assert programs.prometheus_module_version("v3.16.0") == "v0.316.0"
    assert programs.prometheus_module_version("v3.5.2") == "v0.305.2"
    assert programs.collector_module_version("0.161.0") == "v0.161.0"
    assert programs.jaeger_module_version("2.13.0") == "v1.76.0"
    with pytest.raises(RuntimeError, match="no v1 twin tag"):
        programs.jaeger_module_version("2.20.0")


def _collector_info(version: str, odd_one: str | None = None) -> str:
    lines = [
        "\tpath\tgo.opentelemetry.io/collector/cmd/builder",
        "\tmod\tgo.opentelemetry.io/collector/cmd/builder\t(devel)\t",
    ]
    modules = [
        f"{CORE}/receiver/otlpreceiver",
        f"{CORE}/processor/batchprocessor",
        f"{CORE}/processor/memorylimiterprocessor",
        f"{CONTRIB}/processor/transformprocessor",
        f"{CORE}/exporter/otlpexporter",
        f"{CORE}/exporter/otlphttpexporter",
        f"{CONTRIB}/exporter/prometheusexporter",
        f"{CONTRIB}/extension/healthcheckextension",
    ]
    for module in modules:
        lines.append(f"\tdep\t{module}\t{'v0.160.0' if module == odd_one else version}\th1:x=")
    return "\n".join(lines) + "\n"


def test_release_read_from_build_info():
    jaeger = (
        "\tpath\tgithub.com/jaegertracing/jaeger/cmd/jaeger\n\tmod\tgithub.com/jaegertracing/jaeger\tv1.76.0\th1:x=\n"
    )
    assert programs.release_of("jaeger", jaeger) == "2.13.0"
    prometheus = "\tmod\tlocal/x\t(devel)\t\n\tdep\tgithub.com/prometheus/prometheus\tv0.316.0\th1:x=\n"
    assert programs.release_of("prometheus", prometheus) == "v3.16.0"
    assert programs.release_of("otel-collector", _collector_info("v0.161.0")) == "0.161.0"


def test_a_collector_built_from_mixed_releases_is_no_release():
    mixed = _collector_info("v0.161.0", odd_one=f"{CONTRIB}/processor/transformprocessor")
    assert programs.release_of("otel-collector", mixed).startswith("(mixed releases")


def test_the_collector_manifest_pins_every_component_to_the_release():
    manifest = programs._collector_manifest("0.161.0", Path("dist"))
    gomods = [
        entry["gomod"]
        for section in ("receivers", "processors", "exporters", "extensions")
        for entry in manifest[section]
    ]
    assert sorted(gomods) == sorted(
        [
            f"{CORE}/receiver/otlpreceiver v0.161.0",
            f"{CORE}/processor/batchprocessor v0.161.0",
            f"{CORE}/processor/memorylimiterprocessor v0.161.0",
            f"{CONTRIB}/processor/transformprocessor v0.161.0",
            f"{CORE}/exporter/otlphttpexporter v0.161.0",
            f"{CORE}/exporter/otlpexporter v0.161.0",
            f"{CONTRIB}/exporter/prometheusexporter v0.161.0",
            f"{CONTRIB}/extension/healthcheckextension v0.161.0",
        ]
    )
    assert manifest["dist"]["version"] == "0.161.0"
