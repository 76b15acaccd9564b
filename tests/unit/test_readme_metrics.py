"""README.md's metrics table is exactly the one generated from the catalog."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from telemetry_stack import catalog

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "readme_metrics_table.py"
README = ROOT / "README.md"


def _printed_table() -> str:
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60, check=True)
    return result.stdout


def test_script_prints_one_row_per_instrument():
    lines = _printed_table().splitlines()
    assert len(lines) == 2 + len(catalog.INSTRUMENTS)
    for inst, line in zip(catalog.INSTRUMENTS, lines[2:], strict=True):
        first = inst.otel_name(inst.servers[0]) if inst.custom else inst.name
        assert line.startswith(f"| `{first}`")
        for server in catalog.SERVERS:
            if inst.defined_by(server):
                assert f"`{inst.prometheus_name(server)}" in line, (inst.name, server.key)
        for label in inst.labels:
            assert f"`{label}`" in line


def test_readme_contains_exactly_the_generated_table():
    table = _printed_table()
    readme = README.read_text(encoding="utf-8")
    assert table in readme, (
        "README.md's metrics table differs from the catalog: run "
        "`python scripts/readme_metrics_table.py` and paste its output into the Metrics section"
    )
    # Exactly that table: no second, stale copy elsewhere.
    assert readme.count(table.splitlines()[0]) == 1


def test_table_rows_are_literal_facts():
    """Two rows written out by hand, so a renamed series shows up here, not only in the generated table."""
    table = _printed_table()
    assert (
        "| `ogx.inference.duration_seconds`<br>`llama_stack.inference.duration_seconds` | histogram | `s` | "
        "SDK default (0, 5, 10, 25, …) | `ogx_inference_duration_seconds{_bucket,_sum,_count}`<br>"
        "`llama_stack_inference_duration_seconds{_bucket,_sum,_count}` | `model`, `provider`, `stream`, `status` |"
    ) in table
    assert (
        "| `ogx.responses.agentic_calls_total` (OGX only) | counter | `1` | — | "
        "`ogx_responses_agentic_calls_total` | — |"
    ) in table


def test_readme_shows_the_demo():
    readme = README.read_text(encoding="utf-8")
    assert "llama-telemetry up && llama-telemetry demo" in readme
