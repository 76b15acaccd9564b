"""tests/PROMISES.md names real tests: each `path::test` in it is a test function defined in that file."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(test_\w+)")


def test_every_test_the_promise_table_names_exists():
    table = (ROOT / "tests" / "PROMISES.md").read_text(encoding="utf-8")
    references = REFERENCE.findall(table)
    assert len(references) > 30
    defined: dict[str, set[str]] = {}
    missing = []
    for path, name in references:
        if path not in defined:
            tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
            defined[path] = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        if name not in defined[path]:
            missing.append(f"{path}::{name}")
    assert not missing, f"tests/PROMISES.md names tests that do not exist: {missing}"


def test_every_row_has_a_test_or_says_why_not():
    rows = [
        line
        for line in (ROOT / "tests" / "PROMISES.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and not line.startswith(("| README promise", "|---"))
    ]
    assert rows
    for row in rows:
        assert REFERENCE.search(row) or "*untested*" in row, row
