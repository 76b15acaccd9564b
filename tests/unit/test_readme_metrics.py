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
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                            timeout=60, check=True)
    return result.stdout


def test_script_prints_one_row_per_instrument():
    lines = _printed_table().splitlines()
    assert len(lines) == 2 + len(catalog.INSTRUMENTS)
    for inst, line in zip(catalog.INSTRUMENTS, lines[2:], strict=True):
        assert line.startswith(f"| `{inst.name}`")
        for series in inst.series_names:
            assert f"`{series}`" in line
        for label in inst.labels:
            assert f"`{label}`" in line


def test_readme_contains_exactly_the_generated_table():
    table = _printed_table()
    readme = README.read_text(encoding="utf-8")
    assert table in readme, (
        "README.md's metrics table differs from the catalog: run "
        "`python scripts/readme_metrics_table.py` and paste its output into the Metrics section")
    # Exactly that table: no second, stale copy elsewhere.
    assert readme.count(table.splitlines()[0]) == 1


def test_readme_shows_the_demo():
    readme = README.read_text(encoding="utf-8")
    assert "llama-telemetry up && llama-telemetry demo" in readme
