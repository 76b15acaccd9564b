#!/usr/bin/env python3
"""Write the Grafana dashboards to dashboards/<slug>.json.

    python scripts/build_dashboards.py [OUTPUT_DIR]

The dashboards are built by telemetry_stack.dashboards from the metric catalog;
never edit the JSON files by hand (a unit test compares them with the builder).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from telemetry_stack.dashboards import write_all  # noqa: E402


def main(argv: list[str]) -> int:
    output = Path(argv[0]) if argv else ROOT / "dashboards"
    for path in write_all(output):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
