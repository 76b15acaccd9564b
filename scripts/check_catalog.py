#!/usr/bin/env python3
"""Check the metric catalog against the servers' published wheels.

For each server in telemetry_stack.catalog.SERVERS this downloads its pinned wheel (``ogx==1.5.0``,
``llama-stack==0.7.3``) from PyPI, reads the package's source without importing it (the wheels need
Python 3.12 and a server's dependencies), and finds:

* every instrument created with ``<meter>.create_counter / create_histogram / create_up_down_counter``:
  its name (prefix constants resolved), kind, unit and ``explicit_bucket_boundaries_advisory``;
* every ``<instrument>.add(...)`` / ``.record(...)`` call and the attribute keys it passes: a dict literal
  (``**spread`` included), a variable assigned one in the same function, or a call to one of the
  package's ``create_*_attributes`` helpers (the keys its keyword arguments set).

It prints every disagreement with the catalog and exits 1 if there is one. Wheels are cached in
``$LLAMA_TELEMETRY_TEST_CACHE/wheels`` (default ``~/.cache/llama-telemetry-tests/wheels``).

    python scripts/check_catalog.py [--wheels DIR]
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from telemetry_stack import catalog  # noqa: E402

KINDS = {
    "create_counter": catalog.COUNTER,
    "create_histogram": catalog.HISTOGRAM,
    "create_up_down_counter": catalog.UPDOWNCOUNTER,
}
RECORDERS = ("add", "record")


@dataclass
class Found:
    """An instrument as a wheel defines and records it."""

    name: str
    kind: str
    unit: str
    buckets: tuple[float, ...] | None
    where: str
    attributes: set[str] = field(default_factory=set)
    recorded: int = 0


# --- reading source ---------------------------------------------------------------------------------


def _constant(node: ast.AST, names: dict) -> object:
    """The value of a constant expression: literals, f-strings, + of strings, lists/tuples, known names."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            inner = value.value if isinstance(value, ast.FormattedValue) else value
            parts.append(str(_constant(inner, names)))
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _constant(node.left, names) + _constant(node.right, names)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_constant(e, names) for e in node.elts]
    raise ValueError(ast.dump(node)[:80])


def _module_constants(tree: ast.Module, names: dict) -> dict:
    """Top-level NAME = <constant expression> assignments, evaluated in order."""
    found = {}
    for statement in tree.body:
        targets = (
            statement.targets
            if isinstance(statement, ast.Assign)
            else ([statement.target] if isinstance(statement, ast.AnnAssign) and statement.value else [])
        )
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    found[target.id] = _constant(statement.value, {**names, **found})
                except ValueError:
                    pass
    return found


def _target_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _keyword(call: ast.Call, name: str, position: int | None = None) -> ast.AST | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if position is not None and len(call.args) > position:
        return call.args[position]
    return None


def _helper_keys(function: ast.FunctionDef) -> dict[str, str]:
    """parameter -> attribute key, from ``attributes["key"] = ...param...`` in a helper."""
    params = {a.arg for a in function.args.args + function.args.kwonlyargs}
    keys = {}
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Subscript)
            and isinstance(node.targets[0].slice, ast.Constant)
        ):
            used = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)} & params
            for param in used:
                keys[param] = node.targets[0].slice.value
    return keys


class Package:
    """One wheel's Python source, parsed."""

    def __init__(self, wheel: Path) -> None:
        self.modules: dict[str, ast.Module] = {}
        self.unreadable: list[str] = []
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if not name.endswith(".py"):
                    continue
                text = archive.read(name).decode()
                try:
                    self.modules[name] = ast.parse(text, filename=name)
                except SyntaxError as exc:
                    # Newer syntax than this Python reads (the wheels target 3.12); harmless unless the
                    # file may create or record instruments.
                    if any(word in text for word in (*KINDS, "metrics import", "import metrics")):
                        self.unreadable.append(f"{name}:{exc.lineno}: cannot parse ({exc.msg}) and it may hold metrics")
        self.names: dict = {}
        # Constants modules first, so the modules that import their names can use them.
        for path in sorted(self.modules, key=lambda p: not p.endswith("constants.py")):
            self.names.update(_module_constants(self.modules[path], self.names))
        self.helpers = {
            node.name: _helper_keys(node)
            for tree in self.modules.values()
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            and node.name.endswith("_attributes")
            and node.name.startswith("create_")
        }

    def instruments(self) -> dict[str, Found]:
        """Variable or attribute name -> the instrument it holds."""
        found: dict[str, Found] = {}
        for path, tree in self.modules.items():
            names = {**self.names, **_module_constants(tree, self.names)}
            for node in ast.walk(tree):
                if not (isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call)):
                    continue
                call = node.value
                if not (isinstance(call.func, ast.Attribute) and call.func.attr in KINDS):
                    continue
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                variable = _target_name(targets[0])
                unit = _keyword(call, "unit")
                buckets = _keyword(call, "explicit_bucket_boundaries_advisory")
                found[variable] = Found(
                    name=_constant(_keyword(call, "name", 0), names),
                    kind=KINDS[call.func.attr],
                    unit="" if unit is None else _constant(unit, names),
                    buckets=None if buckets is None else tuple(float(b) for b in _constant(buckets, names)),
                    where=f"{path}:{node.lineno}",
                )
        return found

    def _keys(
        self, node: ast.AST | None, assignments: dict[str, list[ast.AST]], seen: frozenset = frozenset()
    ) -> set[str]:
        """Attribute keys an expression passes: dict literals, helper calls, variables assigned either."""
        if node is None or (isinstance(node, ast.Constant) and node.value is None):
            return set()  # no attributes (a variable may start as None before it gets them)
        if isinstance(node, ast.Dict):
            keys = set()
            for key, value in zip(node.keys, node.values, strict=True):
                keys |= self._keys(value, assignments, seen) if key is None else {_constant(key, self.names)}
            return keys
        if isinstance(node, ast.Call) and _target_name(node.func) in self.helpers:
            mapping = self.helpers[_target_name(node.func)]
            return {
                mapping[k.arg]
                for k in node.keywords
                if not (isinstance(k.value, ast.Constant) and k.value.value is None)
            }
        if isinstance(node, ast.Name) and node.id not in seen:
            keys = set()
            for value in assignments.get(node.id, []):
                keys |= self._keys(value, assignments, seen | {node.id})
            return keys
        raise ValueError(f"cannot read attributes from {ast.unparse(node)}")

    def record_attributes(self, instruments: dict[str, Found]) -> list[str]:
        """Fill each instrument's attribute keys from its call sites; return what could not be read."""
        problems = []
        for path, tree in self.modules.items():
            for function in ast.walk(tree):
                if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                assignments: dict[str, list[ast.AST]] = {}
                for node in ast.walk(function):
                    if isinstance(node, ast.Assign):
                        for target in node.targets:
                            if isinstance(target, ast.Name):
                                assignments.setdefault(target.id, []).append(node.value)
                for node in ast.walk(function):
                    if not (
                        isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Attribute)
                        and node.func.attr in RECORDERS
                    ):
                        continue
                    instrument = instruments.get(_target_name(node.func.value))
                    if instrument is None:
                        continue
                    try:
                        instrument.attributes |= self._keys(_keyword(node, "attributes", 1), assignments)
                        instrument.recorded += 1
                    except ValueError as exc:
                        problems.append(f"{path}:{node.lineno}: {exc}")
        return problems


# --- comparing --------------------------------------------------------------------------------------


def compare(server: catalog.Server, found: dict[str, Found]) -> list[str]:
    """Every difference between the catalog's instruments of ``server`` and what its wheel defines."""
    by_name = {f.name: f for f in found.values()}
    expected = {i.otel_name(server): i for i in catalog.INSTRUMENTS if i.custom and i.defined_by(server)}
    problems = [
        f"{server.wheel}: {name} ({f.where}) is not in the catalog"
        for name, f in by_name.items()
        if name not in expected
    ]
    for name, inst in expected.items():
        real = by_name.get(name)
        if real is None:
            problems.append(f"{server.wheel}: the catalog's {name} is not defined in the wheel")
            continue
        for what, ours, theirs in (
            ("kind", inst.kind, real.kind),
            ("unit", inst.unit, real.unit),
            ("buckets", inst.buckets, real.buckets),
            ("attributes", set(inst.attributes), real.attributes),
        ):
            if ours != theirs:
                problems.append(
                    f"{server.wheel}: {name} ({real.where}): {what} is {theirs!r} there, {ours!r} in the catalog"
                )
        if not real.recorded:
            problems.append(f"{server.wheel}: {name} ({real.where}) is never recorded")
    return problems


def check_wheel(server: catalog.Server, wheel: Path) -> list[str]:
    package = Package(wheel)
    found = package.instruments()
    return package.unreadable + package.record_attributes(found) + compare(server, found)


def download(server: catalog.Server, directory: Path) -> Path:
    distribution, _, version = server.wheel.partition("==")
    stem = distribution.replace("-", "_")
    cached = sorted(directory.glob(f"{stem}-{version}-*.whl"))
    if not cached:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                "3.12",
                "-d",
                str(directory),
                server.wheel,
            ],
            check=True,
        )
        cached = sorted(directory.glob(f"{stem}-{version}-*.whl"))
    if not cached:
        raise SystemExit(f"pip did not download {server.wheel} into {directory}")
    return cached[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cache = Path(os.environ.get("LLAMA_TELEMETRY_TEST_CACHE") or Path.home() / ".cache" / "llama-telemetry-tests")
    parser.add_argument("--wheels", type=Path, default=cache / "wheels", help="where the wheels are cached")
    args = parser.parse_args(argv)
    args.wheels.mkdir(parents=True, exist_ok=True)
    problems = []
    for server in catalog.SERVERS:
        wheel = download(server, args.wheels)
        found = check_wheel(server, wheel)
        problems += found
        print(f"{server.wheel}: {'OK' if not found else f'{len(found)} difference(s)'} ({wheel.name})")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
