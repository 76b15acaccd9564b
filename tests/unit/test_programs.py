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


def test_release_of_the_loki_stand_in_is_what_its_version_flag_prints():
    printed = "loki, version 3.7.6 (branch: stand-in, revision: stand-in)\n  build user:       llama-telemetry-tests\n"
    assert programs.release_of("loki", printed) == "3.7.6"
    assert programs.release_of("loki", "something else") == "(no version)"


def _copy_sources(target: Path) -> Path:
    for name in programs.stand_in_sources(programs.LOKI_STAND_IN):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes((programs.LOKI_STAND_IN / name).read_bytes())
    return target


def test_the_loki_stand_in_is_built_from_its_own_source_at_the_pinned_tag(tmp_path, monkeypatch):
    from telemetry_stack.services import IMAGES

    program = programs.programs()["loki"]
    assert program.kind == "stand-in" and program.binaries == ("loki",)
    assert program.recipe["version"] == IMAGES["loki"].tag
    sources = programs.stand_in_sources(programs.LOKI_STAND_IN)
    # The Go module (its packages, go.mod and go.sum) and nothing else: the image's default config is not a source.
    assert {"main.go", "go.mod", "go.sum", "loki/config.go"} <= set(sources)
    assert not any(name.endswith(".yaml") for name in sources)
    assert program.directory.name.startswith(f"loki-{IMAGES['loki'].tag}-")

    # The cache entry follows the source: a changed file is another recipe, a file that is not source is not.
    copy = _copy_sources(tmp_path / "loki")
    monkeypatch.setattr(programs, "LOKI_STAND_IN", copy)
    assert programs.programs()["loki"].directory == program.directory
    (copy / "README.md").write_text("notes\n")
    assert programs.programs()["loki"].directory == program.directory
    (copy / "main.go").write_text((copy / "main.go").read_text() + "\n// changed\n")
    assert programs.programs()["loki"].directory != program.directory
