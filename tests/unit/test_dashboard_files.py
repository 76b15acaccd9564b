"""scripts/build_dashboards.py's writer reproduces the committed dashboards/ directory byte for byte, the logs board
included, into a directory it creates."""

from __future__ import annotations

from pathlib import Path

from telemetry_stack.dashboards import write_all

COMMITTED = Path(__file__).resolve().parents[2] / "dashboards"


def test_the_writer_reproduces_the_committed_dashboards(tmp_path):
    target = tmp_path / "not" / "yet" / "there"
    written = write_all(str(target))
    assert sorted(p.name for p in written) == sorted(p.name for p in COMMITTED.glob("*.json"))
    assert "llama-stack-logs.json" in {p.name for p in written}
    for path in written:
        assert path.parent == target
        assert path.read_bytes() == (COMMITTED / path.name).read_bytes(), path.name
