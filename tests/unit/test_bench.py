"""The pure parts of scripts/bench.py: medians, paired ratios, target verdicts and the table; and how it gets
the suite's test images (the builder run as a command, never imported). No engines."""

from __future__ import annotations

import ast
import importlib.util
import json
import math
import sys
import textwrap
from pathlib import Path

import pytest

BENCH_PATH = Path(__file__).resolve().parents[2] / "scripts" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_under_test", BENCH_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def samples(**overrides):
    base = {
        "floor_up": [1.0, 1.2, 1.1],
        "floor_down": [0.5, 0.6, 0.4],
        "up": [1.1, 1.3, 1.2],
        "noop_up": [0.30, 0.35, 0.40],
        "status": [0.20, 0.25, 0.30],
        "down": [0.6, 0.7, 0.5],
        "help": [0.07, 0.08, 0.09],
    }
    base.update(overrides)
    return base


def by_metric(rows):
    return {row.metric: row for row in rows}


def test_median_of_odd_and_even_counts(bench):
    assert bench.median([3.0, 1.0, 2.0]) == 2.0
    assert bench.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert bench.median([0.7]) == 0.7
    with pytest.raises(ValueError):
        bench.median([])


def test_ratio_and_paired_ratios(bench):
    assert bench.ratio(1.5, 1.0) == 1.5
    assert math.isinf(bench.ratio(1.0, 0.0))
    assert bench.paired_ratios([2.0, 3.0], [1.0, 2.0]) == [2.0, 1.5]
    with pytest.raises(ValueError):
        bench.paired_ratios([1.0], [1.0, 2.0])


def test_ratio_is_the_median_of_per_run_ratios(bench):
    # Paired per run: a slow run slows floor and up alike and must not skew the ratio.
    rows = by_metric(bench.evaluate("docker", samples(floor_up=[1.0, 2.0, 4.0], up=[1.1, 2.2, 4.4])))
    assert rows["up → all healthy"].value == pytest.approx(1.1)
    assert "1.100× floor" in rows["up → all healthy"].measured


def test_all_targets_met(bench):
    rows = bench.evaluate("docker", samples(), {"up": [50_000, 52_000], "status": [40_000], "help": [16_000]})
    assert bench.missed(rows) == []
    results = {row.metric: row.result for row in rows}
    assert results["floor (own process): create+start → all healthy"] == "-"
    assert results["floor (own process): stop+remove"] == "-"
    assert results["status"] == "pass"
    rss = rows[-1]
    assert rss.metric == "peak RSS: up / status / --help"
    assert rss.measured == "51 / 39 / 16 MiB"  # the largest sample, in MiB
    assert rss.result == "-"


def test_each_target_can_be_missed(bench):
    rows = by_metric(
        bench.evaluate(
            "podman",
            samples(
                up=[2.0, 2.0, 2.0],
                noop_up=[1.1, 1.2, 1.0],
                down=[1.6, 1.6, 1.6],
                help=[0.31, 0.4, 0.5],
                status=[0.7, 0.61, 0.65],
            ),
        )
    )
    for metric in ("up → all healthy", "no-op up (healthy stack)", "down", "llama-telemetry --help", "status"):
        assert rows[metric].result == "FAIL", metric


def test_boundaries(bench):
    # ≤ targets pass at exactly the limit; down must be strictly under 1.5 s.
    rows = by_metric(
        bench.evaluate("docker", samples(up=[1.25, 1.5, 1.375], noop_up=[1.0] * 3, help=[0.3] * 3, status=[0.6] * 3))
    )
    assert rows["up → all healthy"].result == "pass"
    assert rows["no-op up (healthy stack)"].result == "pass"
    assert rows["llama-telemetry --help"].result == "pass"
    assert rows["status"].result == "pass"
    fast_floor = by_metric(bench.evaluate("docker", samples(floor_down=[1.2] * 3, down=[1.5] * 3)))
    assert fast_floor["down"].value == pytest.approx(1.25)
    assert fast_floor["down"].result == "FAIL"  # within 1.5× the floor, but not under 1.5 s


def test_noop_that_changed_containers_fails(bench):
    rows = by_metric(bench.evaluate("docker", samples(), noop_unchanged=False))
    assert rows["no-op up (healthy stack)"].result == "FAIL"
    assert "CHANGED" in rows["no-op up (healthy stack)"].measured


def test_table_is_aligned_with_a_header(bench):
    rows = bench.evaluate("docker", samples()) + bench.evaluate("podman", samples(status=[0.9] * 3))
    text = bench.format_table(rows)
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["engine", "metric"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert len(lines) == 2 + len(rows)
    result_column = lines[0].index("result")
    assert all(line[result_column:].strip() in ("pass", "FAIL", "-") for line in lines[2:])
    assert "0.900 s" in text and "1.10 s" in text  # under a second with ms, above with two decimals
    assert [r.metric for r in bench.missed(rows)] == ["status"]


def test_arguments(bench):
    args = bench.parse_args(["--engines", "podman, docker", "--runs", "3"])
    assert args.engine_list == ["podman", "docker"]
    assert (args.runs, args.json_out, args.images) == (3, "bench-results.json", "test")
    assert bench.parse_args([]).engine_list == []
    for bad in (["--engines", "lxc"], ["--runs", "0"], ["--images", "latest"]):
        with pytest.raises(SystemExit):
            bench.parse_args(bad)


def test_in_process_floor_and_start_up_are_reported_not_judged(bench):
    rows = by_metric(
        bench.evaluate(
            "podman", samples(inprocess_floor_up=[0.5] * 3, inprocess_floor_down=[0.25] * 3, startup=[0.2, 0.2, 0.2])
        )
    )
    assert rows["up against the in-process floor"].value == pytest.approx(2.4)  # median of 1.1/0.5, 1.3/0.5, 1.2/0.5
    assert rows["down against the in-process floor"].value == pytest.approx(2.4)
    assert rows["up less start-up, against the in-process floor"].value == pytest.approx(2.0)  # (1.2 - 0.2) / 0.5
    assert rows["CLI start-up (interpreter + imports of up)"].measured == "0.200 s"
    reported = [r for r in rows.values() if "in-process" in r.metric or "start-up" in r.metric]
    assert len(reported) == 6 and all(r.result == "-" for r in reported)
    assert bench.missed(list(rows.values())) == []  # far above the in-process floor, yet no target is judged on it


def test_the_scripts_never_import_the_test_package():
    """The bench reaches the suite's image builder as a command: no `tests` import, no sys.path changes."""
    for script in (BENCH_PATH, BENCH_PATH.with_name("bench_floor.py")):
        tree = ast.parse(script.read_text())
        imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert not [name for name in imported if name == "tests" or name.startswith("tests.")], script.name
        paths = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr == "path"
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ]
        assert not paths, f"{script.name} changes sys.path"


def _fake_builder(tmp_path, body: str) -> None:
    (tmp_path / "fake_builder.py").write_text(textwrap.dedent(body))


def test_suite_images_are_the_refs_the_builder_command_prints(bench, tmp_path, monkeypatch, capsys):
    _fake_builder(
        tmp_path,
        """
        import json, sys
        assert sys.argv[1:] == ["--json", "podman"], sys.argv
        print("building prometheus v3.16.0 from its Go modules ...", file=sys.stderr)
        print(json.dumps({"podman": {"prometheus": "localhost/x/prometheus:v3.16.0"}}))
    """,
    )
    monkeypatch.setattr(bench, "REPO", tmp_path)  # where the command runs: the checkout
    monkeypatch.setattr(bench, "IMAGE_BUILDER", "fake_builder")
    assert bench.suite_images("podman") == {"prometheus": "localhost/x/prometheus:v3.16.0"}
    assert "building prometheus v3.16.0 from its Go modules ..." in capsys.readouterr().err  # logged as it came


def test_a_failed_image_build_is_a_bench_error_with_its_reason(bench, tmp_path, monkeypatch):
    _fake_builder(
        tmp_path,
        """
        import sys
        print("RuntimeError: the podman command is not installed", file=sys.stderr)
        sys.exit(1)
    """,
    )
    monkeypatch.setattr(bench, "REPO", tmp_path)
    monkeypatch.setattr(bench, "IMAGE_BUILDER", "fake_builder")
    with pytest.raises(bench.BenchError, match="exited 1: RuntimeError: the podman command is not installed"):
        bench.suite_images("podman")


def test_the_image_builder_command_prints_what_the_bench_reads(bench, monkeypatch, capsys):
    from tests.engine import images

    monkeypatch.setattr(
        images, "build_images", lambda engine, say: {svc: f"{engine}/{ref}" for svc, ref in images.IMAGE_REFS.items()}
    )
    assert bench.IMAGE_BUILDER == images.__name__
    assert images.main(["--json", "docker", "podman"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {
        engine: {svc: f"{engine}/{ref}" for svc, ref in images.IMAGE_REFS.items()} for engine in ("docker", "podman")
    }
    with pytest.raises(SystemExit):
        images.main(["lxc"])
