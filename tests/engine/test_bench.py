"""scripts/bench.py really runs on each engine and leaves nothing behind. Its timings are not judged here:
speed is shown by the benchmark's own table, never by timed tests."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO
from tests.engine.conftest import assert_not_deployed

BENCH_PROJECTS = ("bench", "bench-floor")


def test_one_bench_run_measures_everything_and_cleans_up(engine_name, images, engine, tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "bench.py"),
            "--engines",
            engine_name,
            "--runs",
            "1",
            "--warmup",
            "0",
            "--json-out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    entry = json.loads(out.read_text())["engines"][engine_name]
    assert entry["error"] is None
    assert all(len(values) == 1 and values[0] > 0 for values in entry["samples"].values()), entry["samples"]
    assert entry["noop_changes"] == [[]]  # the no-op up changed nothing
    metrics = [row["metric"] for row in entry["rows"]]
    for metric in ("up → all healthy", "down", "status", "llama-telemetry --help", "up against the in-process floor"):
        assert metric in metrics
    assert "floor (own process): create+start → all healthy" in proc.stdout

    from telemetry_stack.stack import resource_names

    for project in BENCH_PROJECTS:
        assert_not_deployed(engine, project)
        assert all(engine.volume(name) is None for name in resource_names(project)[2].values())
