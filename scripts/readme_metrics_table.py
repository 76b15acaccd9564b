#!/usr/bin/env python3
"""Print the README's metrics table, generated from the metric catalog.

    python scripts/readme_metrics_table.py

Paste the output into README.md's "Metrics" section; a unit test checks that the
README holds exactly this table, so it cannot drift from telemetry_stack.catalog.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from telemetry_stack import catalog  # noqa: E402
from telemetry_stack.catalog import Instrument  # noqa: E402

KINDS = {
    catalog.COUNTER: "counter",
    catalog.HISTOGRAM: "histogram",
    catalog.UPDOWNCOUNTER: "up-down counter (gauge)",
}
HEADER = ("OpenTelemetry name", "kind", "unit", "buckets", "Prometheus series", "attributes → labels")


def _code(text: str) -> str:
    return f"`{text}`"


def _attributes(inst: Instrument) -> str:
    cells = []
    for attribute in inst.attributes:
        label = inst.label(attribute)
        cells.append(_code(attribute) if label == attribute else f"{_code(attribute)} → {_code(label)}")
    return ", ".join(cells) or "—"


def _names(inst: Instrument) -> str:
    if not inst.custom:
        return _code(inst.name) + " (auto-instrumentation)"
    names = [_code(inst.otel_name(s)) for s in inst.servers]
    only = f" ({' and '.join(s.title for s in inst.servers)} only)" if len(inst.servers) < len(catalog.SERVERS) else ""
    return "<br>".join(names) + only


def _buckets(inst: Instrument) -> str:
    if inst.kind != catalog.HISTOGRAM:
        return "—"
    if inst.buckets is None:
        return "SDK default (0, 5, 10, 25, …)"
    return ", ".join(f"{b:g}" for b in inst.buckets)


def _series(inst: Instrument) -> str:
    suffix = "{_bucket,_sum,_count}" if inst.kind == catalog.HISTOGRAM else ""
    return "<br>".join(_code(inst.prometheus_name(s) + suffix) for s in catalog.SERVERS if inst.defined_by(s))


def _row(inst: Instrument) -> tuple[str, ...]:
    return (
        _names(inst),
        KINDS[inst.kind],
        _code(inst.unit) if inst.unit else "—",
        _buckets(inst),
        _series(inst),
        _attributes(inst),
    )


def metrics_table() -> str:
    """The Markdown table: one row per catalog instrument, in catalog order."""
    rows = [HEADER, tuple("---" for _ in HEADER)] + [_row(i) for i in catalog.INSTRUMENTS]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows) + "\n"


def main() -> int:
    sys.stdout.write(metrics_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
