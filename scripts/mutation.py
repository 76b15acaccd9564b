#!/usr/bin/env python3
"""Mutation testing: do the fast tests fail when the product is wrong?

Each mutant is one small change to a pure module (telemetry_stack/settings.py, render.py, stack.py, services.py,
planning.py, health.py, verify.py, output.py, results.py, catalog.py, dashboards/*.py) or one deleted line of a
template (templates/*.j2). A mutant is killed when a fast test (`-m "not engine and not slow"`) fails with it;
one that every relevant test passes survives, and points at behaviour no test pins.

    .venv/bin/python scripts/mutation.py                    # every mutant (see "Run time" below)
    .venv/bin/python scripts/mutation.py --sample 300 --seed 1
    .venv/bin/python scripts/mutation.py --paths 'telemetry_stack/settings.py' --json out.json

Why not mutmut: mutmut 3 mutates function bodies only (through trampolines), so the service registry, the metric
catalog and every other module-level fact are never mutated; and the CLI tests run `python -m telemetry_stack` in a
subprocess, which imports the unmutated package. Nor does it mutate templates.

How it works:

* Nothing in the checkout is touched. The checkout is copied (without .venv, .git and caches) to a temporary
  directory per worker, and tests run there with PYTHONPATH set to that copy, so both the test process and the CLI
  subprocesses the tests start import the copy's package, which finds the copy's templates (checked at start).
* Mutants (AST based, spliced into the source text so the rest of the file stays byte for byte):
  comparison swaps (== !=, < <=, > >=, in / not in, is / is not), and <-> or, + <-> -, * <-> /, // -> /,
  `not x` -> `x`, True <-> False, numbers + 1, strings -> "" ("" -> "XX"), f-strings -> "", `return x` ->
  `return None`, deletion of a statement inside a function (call, assignment, raise, if without else, for,
  continue, break), removal of a keyword argument or of the last positional argument of a call. Not mutated:
  docstrings and other bare strings, annotations, imports, `__all__`, what lies inside an f-string, and lines
  marked `# pragma: no mutate`. A mutant that does not compile, or whose AST equals the original's, is dropped.
* Template mutants delete one line that is neither blank nor a comment. A deletion that leaves the template
  invalid jinja (e.g. an `{% endif %}` alone) is "stillborn": like a Python mutant that does not compile it says
  nothing about the tests (any render fails) and is reported but not scored. Every other deletion is scored,
  including ones that break the rendered YAML, which a test must notice.
* Test selection: one traced run of the fast suite records, per test, the lines of the mutated files it executed
  (in the test process and in the CLI subprocesses it starts). A mutant runs the tests that executed its
  statement, fastest first, with `-x`. A statement executed when the module is imported (module-level data,
  defaults, decorators) can change what any importer sees, so its mutants also run every test whose file imports
  the module (directly or not) or that executed any of its lines. Template mutants run the tests that rendered
  the templates and those that name the template. A mutant no test reaches survives without a run.
* Bytecode: the copies' caches are written once by a baseline run; mutated files get a different mtime and
  PYTHONDONTWRITEBYTECODE=1, so a mutant is always compiled from its source and never cached.
* A run that ends in a timeout (3 x the selected tests' traced time + 20 s) counts as killed; pytest exit codes 1
  and 2 (a failed test, or an import error the mutant caused) count as killed, 0 as survived; anything else is an
  error, reported and not scored.

Score = killed / (killed + survived); exit status 1 when it is below --min (default 85), 2 when the unmutated
suite fails.

Run time (2 cores): the traced baseline takes about a minute; CI should run `--sample 300` (a few minutes); the
full set is the manual step (see `make mutation`).
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import json
import os
import queue
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON_TARGETS = (
    "telemetry_stack/settings.py",
    "telemetry_stack/render.py",
    "telemetry_stack/stack.py",
    "telemetry_stack/services.py",
    "telemetry_stack/planning.py",
    "telemetry_stack/health.py",
    "telemetry_stack/verify.py",
    "telemetry_stack/output.py",
    "telemetry_stack/results.py",
    "telemetry_stack/catalog.py",
    "telemetry_stack/dashboards/*.py",
)
TEMPLATE_TARGETS = ("templates/*.j2",)
FAST_TESTS = "not engine and not slow"
TEST_ROOT = "tests/unit"
NO_MUTATE = "pragma: no mutate"
COPY_IGNORE = shutil.ignore_patterns(
    ".venv", ".git", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__", "*.pyc", "mutants", "build", "dist"
)
TIMEOUT_FACTOR, TIMEOUT_CONSTANT = 3.0, 20.0
FIRST_STAGE = 20  # tests in a mutant's first pytest run

KILLED, SURVIVED, TIMEOUT, NO_TESTS, STILLBORN, ERROR = (
    "killed",
    "survived",
    "timeout",
    "no tests",
    "stillborn",
    "error",
)
SCORED_KILLED = (KILLED, TIMEOUT)
SCORED_SURVIVED = (SURVIVED, NO_TESTS)


@dataclass
class Mutant:
    path: str  # relative to the repository
    line: int
    column: int
    kind: str
    description: str
    key_lines: tuple[int, ...]  # the statement's lines: a test that executed one of them reaches the mutant
    import_time: bool  # the statement runs when the module is imported (module level, class body, def header)
    start: int = 0  # byte offsets of the replaced span (python) / index of the deleted line (templates)
    end: int = 0
    replacement: str = ""
    status: str = ""
    detail: str = ""  # the test that killed it, or why it errored
    seconds: float = 0.0
    tests: int = 0  # how many tests were selected

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    def mutated(self, original: bytes) -> bytes:
        if self.kind == "template line":
            lines = original.decode().splitlines(keepends=True)
            return "".join(lines[: self.start] + lines[self.start + 1 :]).encode()
        return original[: self.start] + self.replacement.encode() + original[self.end :]


# ------------------------------------------------------------------------------------------ python mutants

_COMPARE_SWAPS = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_BINARY_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div}
_OPERATOR_TEXT = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.And: "and",
    ast.Or: "or",
}
# Statements whose deletion is a mutant (inside function bodies only: deleting a module-level definition is an
# import error, which says nothing about the tests).
_DELETABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Raise, ast.If, ast.For, ast.Continue, ast.Break)


def _short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key_lines(stmt: ast.stmt) -> tuple[int, ...]:
    """The lines that execute when `stmt` does: a compound statement's header, a simple statement whole."""
    first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
    body = getattr(stmt, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
        last = max(body[0].lineno - 1, stmt.lineno)
    else:
        last = stmt.end_lineno or stmt.lineno
    return tuple(range(first, last + 1))


def _is_bare_string(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


class _PythonMutants:
    def __init__(self, path: str, source: bytes):
        self.path = path
        self.source = source
        self.text = source.decode()
        self.tree = ast.parse(self.text)
        self.line_starts = [0]
        for line in source.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))
        self.lines = self.text.splitlines()
        self.found: list[Mutant] = []
        self.seen: set[tuple[int, int, str]] = set()
        self.in_function: dict[int, bool] = {}  # id(statement) -> it runs only when its function is called
        self.top_level = [  # byte spans of the module's statements, decorators included
            (self.offset(_key_lines(s)[0], 0), self.offset(s.end_lineno or s.lineno, s.end_col_offset or 0))
            for s in self.tree.body
        ]

    def offset(self, line: int, col: int) -> int:
        return self.line_starts[line - 1] + col  # ast columns are UTF-8 byte offsets

    def segment(self, node: ast.AST) -> str:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return self.source[start:end].decode()

    def add(self, node: ast.AST, stmt: ast.stmt, kind: str, replacement: str, description: str) -> None:
        line = node.lineno  # type: ignore[attr-defined]
        if NO_MUTATE in self.lines[line - 1]:
            return
        start = self.offset(line, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        if (start, end, replacement) in self.seen:
            return
        # A splice can only break the top-level statement it lies in: compiling that one is enough (and fast).
        top_start, top_end = next((a, b) for a, b in self.top_level if a <= start and end <= b)
        try:
            compile(self.source[top_start:start] + replacement.encode() + self.source[end:top_end], self.path, "exec")
        except (SyntaxError, ValueError):
            return
        self.seen.add((start, end, replacement))
        self.found.append(
            Mutant(
                self.path,
                line,
                node.col_offset + 1,  # type: ignore[attr-defined]
                kind,
                description,
                _key_lines(stmt),
                not self.in_function[id(stmt)],
                start,
                end,
                replacement,
            )
        )

    def replace_expr(self, node: ast.expr, new: ast.expr, stmt: ast.stmt, kind: str, description: str) -> None:
        try:
            text = ast.unparse(ast.fix_missing_locations(new))
        except (ValueError, AttributeError, TypeError):
            return
        self.add(node, stmt, kind, f"({text})", description)

    # -- the walk
    def run(self) -> list[Mutant]:
        self.walk_body(self.tree.body, None, in_function=False)
        return self.found

    def walk_body(self, body: list[ast.stmt], parent: ast.stmt | None, in_function: bool) -> None:
        for stmt in body:
            if _is_bare_string(stmt):
                continue  # docstrings and attribute docstrings: no behaviour
            if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal)):
                continue
            if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in stmt.targets
            ):
                continue  # only `import *` reads it
            if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test):
                continue
            self.walk_stmt(stmt, in_function)

    def walk_stmt(self, stmt: ast.stmt, in_function: bool) -> None:
        self.in_function[id(stmt)] = in_function
        deletable = isinstance(stmt, _DELETABLE) and not (isinstance(stmt, ast.If) and stmt.orelse)
        if in_function and deletable and not (isinstance(stmt, ast.AnnAssign) and stmt.value is None):
            first = self.lines[stmt.lineno - 1].strip()
            self.add(stmt, stmt, "delete statement", "pass", f"delete `{_short(first, 60)}`")
        if isinstance(stmt, ast.Return) and stmt.value is not None:
            value = stmt.value
            if not (isinstance(value, ast.Constant) and value.value is None):
                self.add(
                    value, stmt, "return None", "None", f"`return {_short(self.segment(value), 50)}` -> `return None`"
                )
        for name, value in ast.iter_fields(stmt):
            if name in ("annotation", "returns", "type_comment", "type_params"):
                continue
            if (
                name in ("body", "orelse", "finalbody")
                and isinstance(value, list)
                and value
                and isinstance(value[0], ast.stmt)
            ):
                function = in_function or isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
                self.walk_body(value, stmt, function)
                continue
            if name == "handlers":
                for handler in value:
                    if handler.type is not None:
                        self.walk_expr(handler.type, stmt)
                    self.walk_body(handler.body, stmt, in_function)
                continue
            if name == "args" and isinstance(value, ast.arguments):
                for default in [*value.defaults, *(d for d in value.kw_defaults if d is not None)]:
                    self.walk_expr(default, stmt)
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.expr):
                    self.walk_expr(child, stmt)
                elif isinstance(child, ast.withitem):
                    self.walk_expr(child.context_expr, stmt)
                elif isinstance(child, ast.keyword):
                    self.walk_expr(child.value, stmt)

    def walk_expr(self, node: ast.expr, stmt: ast.stmt) -> None:
        self.mutate_expr(node, stmt)
        if isinstance(node, ast.JoinedStr):
            return  # positions inside f-strings are not reliable; the f-string as a whole is mutated
        if isinstance(node, ast.Lambda):
            for default in [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]:
                self.walk_expr(default, stmt)
            self.walk_expr(node.body, stmt)
            return
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr) and not isinstance(getattr(child, "ctx", None), (ast.Store, ast.Del)):
                self.walk_expr(child, stmt)
            elif isinstance(child, ast.keyword):
                self.walk_expr(child.value, stmt)
            elif isinstance(child, ast.comprehension):
                self.walk_expr(child.iter, stmt)
                for condition in child.ifs:
                    self.walk_expr(condition, stmt)

    def mutate_expr(self, node: ast.expr, stmt: ast.stmt) -> None:
        if isinstance(node, ast.Compare):
            for index, op in enumerate(node.ops):
                swap = _COMPARE_SWAPS.get(type(op))
                if swap:
                    ops = list(node.ops)
                    ops[index] = swap()
                    new = ast.Compare(left=node.left, ops=ops, comparators=node.comparators)
                    description = f"`{_OPERATOR_TEXT[type(op)]}` -> `{_OPERATOR_TEXT[swap]}` in `{_short(self.segment(node), 50)}`"
                    self.replace_expr(node, new, stmt, "operator", description)
        elif isinstance(node, ast.BoolOp):
            swap = ast.Or if isinstance(node.op, ast.And) else ast.And
            description = (
                f"`{_OPERATOR_TEXT[type(node.op)]}` -> `{_OPERATOR_TEXT[swap]}` in `{_short(self.segment(node), 50)}`"
            )
            self.replace_expr(node, ast.BoolOp(op=swap(), values=node.values), stmt, "operator", description)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY_SWAPS:
            swap = _BINARY_SWAPS[type(node.op)]
            description = (
                f"`{_OPERATOR_TEXT[type(node.op)]}` -> `{_OPERATOR_TEXT[swap]}` in `{_short(self.segment(node), 50)}`"
            )
            self.replace_expr(
                node, ast.BinOp(left=node.left, op=swap(), right=node.right), stmt, "operator", description
            )
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            operand = self.segment(node.operand)
            self.add(node, stmt, "operator", f"({operand})", f"drop `not` in `{_short(self.segment(node), 50)}`")
        elif isinstance(node, ast.Constant):
            self.mutate_constant(node, stmt)
        elif isinstance(node, ast.JoinedStr):
            self.add(node, stmt, "constant", '("")', f'`{_short(self.segment(node), 50)}` -> `""`')
        elif isinstance(node, ast.Call):
            self.mutate_call(node, stmt)

    def mutate_constant(self, node: ast.Constant, stmt: ast.stmt) -> None:
        value = node.value
        if isinstance(value, bool):
            new: object = not value
        elif isinstance(value, (int, float)):
            new = value + 1
        elif isinstance(value, str):
            new = "" if value else "XX"
        else:
            return
        self.add(node, stmt, "constant", f"({new!r})", f"`{_short(self.segment(node), 50)}` -> `{new!r}`")

    def mutate_call(self, node: ast.Call, stmt: ast.stmt) -> None:
        function = _short(self.segment(node.func), 30)
        for index, keyword in enumerate(node.keywords):
            new = ast.Call(func=node.func, args=node.args, keywords=node.keywords[:index] + node.keywords[index + 1 :])
            name = f"{keyword.arg}=" if keyword.arg else "**"
            what = f"{name}{_short(self.segment(keyword.value), 30)}"
            self.replace_expr(node, new, stmt, "argument", f"drop argument `{what}` of `{function}(...)`")
        if node.args:
            new = ast.Call(func=node.func, args=node.args[:-1], keywords=node.keywords)
            what = _short(self.segment(node.args[-1]), 30)
            self.replace_expr(node, new, stmt, "argument", f"drop argument `{what}` of `{function}(...)`")


def python_mutants(root: Path, relative: str) -> list[Mutant]:
    return _PythonMutants(relative, (root / relative).read_bytes()).run()


# ---------------------------------------------------------------------------------------- template mutants


def template_mutants(root: Path, relative: str) -> list[Mutant]:
    import jinja2

    text = (root / relative).read_text()
    lines = text.splitlines(keepends=True)
    found = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "{#")) or NO_MUTATE in line:
            continue
        mutant = Mutant(
            relative, index + 1, 1, "template line", f"delete `{_short(stripped, 60)}`", (), False, index, index
        )
        try:
            jinja2.Environment().parse("".join(lines[:index] + lines[index + 1 :]))
        except jinja2.TemplateSyntaxError as exc:
            mutant.status, mutant.detail = STILLBORN, f"not valid jinja: {exc.message}"
        found.append(mutant)
    return found


def target_files(root: Path, patterns: Iterable[str]) -> list[str]:
    files: list[str] = []
    for pattern in patterns:
        files += sorted(str(p.relative_to(root)) for p in root.glob(pattern) if p.is_file())
    return list(dict.fromkeys(files))


def all_mutants(root: Path, only: list[str]) -> list[Mutant]:
    def wanted(path: str) -> bool:
        return not only or any(fnmatch.fnmatch(path, pattern) for pattern in only)

    mutants = []
    for path in target_files(root, PYTHON_TARGETS):
        if wanted(path):
            mutants += python_mutants(root, path)
    for path in target_files(root, TEMPLATE_TARGETS):
        if wanted(path):
            mutants += template_mutants(root, path)
    return mutants


# ------------------------------------------------------------------------------------------- the traced run

# A pytest plugin (and, for the CLI subprocesses the tests start, a sitecustomize) that records which lines of the
# mutated files each test executed. Written into the scratch directory, never into the repository.
_TRACER = r"""
import json, os, sys, threading
from collections import defaultdict

FILES = frozenset(json.loads(os.environ["MUTATION_TRACE_FILES"]))
TESTS = os.environ.get("MUTATION_TRACE_TESTS", "\0")  # the tests directory, with a trailing separator
in_test = True  # the pytest plugin says when lines belong to a test; a subprocess's belong to its test
bucket = defaultdict(set)
outside = defaultdict(set)  # run outside any test, not by a test module's top-level code (imports, hooks)
collected = defaultdict(lambda: defaultdict(set))  # test module -> lines its top-level code ran (at collection)


def _owner(frame):
    # The nearest module-level frame says who runs this: a test module's top-level code (parametrize lists,
    # constants built from the product), or an import of a product module (which every importer sees).
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            name = frame.f_code.co_filename
            return name if name.startswith(TESTS) else None
        frame = frame.f_back
    return None


def _global(frame, event, arg):
    name = frame.f_code.co_filename
    if name not in FILES:
        return None
    if in_test:
        lines = bucket[name]
    else:
        owner = _owner(frame)
        lines = collected[owner][name] if owner else outside[name]
    lines.add(frame.f_lineno)

    def _local(frame, event, arg):
        if event == "line":
            lines.add(frame.f_lineno)
        return _local

    return _local


def start():
    threading.settrace(_global)
    sys.settrace(_global)


def take():
    global bucket
    taken, bucket = bucket, defaultdict(set)
    return {name: sorted(lines) for name, lines in taken.items()}


def merge(into, lines):
    for name, executed in lines.items():
        into.setdefault(name, set()).update(executed)
    return into
"""

_SITECUSTOMIZE = r"""
import os
if os.environ.get("MUTATION_TRACE_OUT") and os.environ.get("MUTATION_TRACE_FILES"):
    import atexit, json
    import _mutation_tracer as tracer

    def _dump():
        with open(os.path.join(os.environ["MUTATION_TRACE_OUT"], f"sub-{os.getpid()}.json"), "w") as out:
            json.dump({"test": os.environ.get("MUTATION_TRACE_TEST", ""), "lines": tracer.take()}, out)

    tracer.start()
    atexit.register(_dump)
"""

# Lines run while a module- or session-scoped fixture is set up belong to every test that uses the fixture, not
# only to the first one (which happens to set it up); lines run outside any test (imports, collection) are kept
# apart ("outside").
# Lines run while a module- or session-scoped fixture is set up belong to every test that uses the fixture, not
# only to the first one (which happens to set it up).
_PLUGIN = r"""
import json, os, time
import pytest
import _mutation_tracer as tracer

tracer.in_test = False
tracer.start()
_tests, _current, _failed = {}, {}, set()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global _current
    _current = {}
    os.environ["MUTATION_TRACE_TEST"] = item.nodeid
    tracer.take()
    tracer.in_test = True
    started = time.perf_counter()
    yield
    tracer.in_test = False
    lines = tracer.merge(_current, tracer.take())
    for name in item.fixturenames:
        for fixturedef in item._fixtureinfo.name2fixturedefs.get(name, ()):
            tracer.merge(lines, getattr(fixturedef, "_mutation_lines", {}))
    _tests[item.nodeid] = {
        "seconds": time.perf_counter() - started,
        "lines": {k: sorted(v) for k, v in lines.items()},
        "file": str(item.path),
    }
    os.environ.pop("MUTATION_TRACE_TEST", None)


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    if fixturedef.scope == "function":
        yield
        return
    tracer.merge(_current, tracer.take())
    yield
    lines = tracer.take()
    tracer.merge(_current, lines)
    fixturedef._mutation_lines = tracer.merge(getattr(fixturedef, "_mutation_lines", {}), lines)


def pytest_runtest_logreport(report):
    if report.failed:
        _failed.add(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    def plain(lines):
        return {k: sorted(v) for k, v in lines.items()}

    with open(os.path.join(os.environ["MUTATION_TRACE_OUT"], "main.json"), "w") as out:
        json.dump(
            {
                "tests": _tests,
                "outside": plain(tracer.outside),
                "collected": {module: plain(lines) for module, lines in tracer.collected.items()},
                "failed": sorted(_failed),
            },
            out,
        )
"""


@dataclass
class TestMap:
    seconds: dict[str, float]  # nodeid -> traced seconds
    files: dict[str, str]  # nodeid -> test file, relative
    lines: dict[str, dict[str, set[int]]]  # nodeid -> relative path -> executed lines
    outside: dict[str, set[int]]  # relative path -> lines run outside any test (imports, pytest hooks)
    collected: dict[str, dict[str, set[int]]]  # test file -> relative path -> lines its top-level code ran
    failed: list[str]  # tests that fail without any mutant (only with --skip-failing; else the run stops)
    by_line: dict[str, dict[int, set[str]]] = field(default_factory=dict)  # relative path -> line -> nodeids

    def __post_init__(self) -> None:
        for nodeid, per_file in self.lines.items():
            for path, lines in per_file.items():
                index = self.by_line.setdefault(path, {})
                for line in lines:
                    index.setdefault(line, set()).add(nodeid)


def _environment(copy: Path, extra_path: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MUTATION_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(copy), extra_path) if p)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _pytest(copy: Path, args: list[str], env: dict[str, str], timeout: float | None = None):
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", FAST_TESTS, "-q", *args]
    return subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)


def traced_run(copy: Path, scratch: Path, files: list[str], skip_failing: bool) -> TestMap:
    trace_dir = scratch / "trace"
    out = trace_dir / "out"
    out.mkdir(parents=True)
    (trace_dir / "_mutation_tracer.py").write_text(_TRACER)
    (trace_dir / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    (trace_dir / "_mutation_trace_plugin.py").write_text(_PLUGIN)
    env = _environment(copy, str(trace_dir))
    env["MUTATION_TRACE_OUT"] = str(out)
    env["MUTATION_TRACE_FILES"] = json.dumps([str(copy / f) for f in files])
    env["MUTATION_TRACE_TESTS"] = str(copy / "tests") + os.sep
    result = _pytest(copy, ["-p", "_mutation_trace_plugin", "--tb=short", TEST_ROOT], env)
    main_file = out / "main.json"
    data = json.loads(main_file.read_text()) if main_file.exists() else {"tests": {}, "failed": ["?"]}
    if result.returncode not in (0, 1) or not data["tests"] or (data["failed"] and not skip_failing):
        print(f"The fast tests fail without any mutant (traced run in {copy}):\n{result.stdout[-4000:]}")
        raise SystemExit(2)
    for nodeid in data["failed"]:
        print(f"warning: {nodeid} fails without any mutant: not used (--skip-failing)", file=sys.stderr)
        data["tests"].pop(nodeid, None)

    def relative(name: str) -> str | None:
        try:
            return str(Path(name).relative_to(copy))
        except ValueError:
            return None

    lines: dict[str, dict[str, set[int]]] = {}
    for nodeid, record in data["tests"].items():
        lines[nodeid] = {relative(k) or k: set(v) for k, v in record["lines"].items()}
    for sub in out.glob("sub-*.json"):
        record = json.loads(sub.read_text())
        if record["test"] in lines:
            for name, executed in record["lines"].items():
                lines[record["test"]].setdefault(relative(name) or name, set()).update(executed)
    return TestMap(
        seconds={n: r["seconds"] for n, r in data["tests"].items()},
        files={n: relative(r["file"]) or r["file"] for n, r in data["tests"].items()},
        lines=lines,
        outside={relative(k) or k: set(v) for k, v in data["outside"].items()},
        collected={
            relative(module) or module: {relative(k) or k: set(v) for k, v in per_file.items()}
            for module, per_file in data["collected"].items()
        },
        failed=data["failed"],
    )


# ------------------------------------------------------------------------------------------- test selection


def _module_name(relative: str) -> str:
    parts = list(Path(relative).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_closure(root: Path) -> dict[str, set[str]]:
    """Python file (relative) -> every module it imports, directly or not (lazy imports included)."""
    files = {
        _module_name(str(p.relative_to(root))): str(p.relative_to(root))
        for top in ("telemetry_stack", "tests", "scripts")
        for p in (root / top).rglob("*.py")
    }
    direct: dict[str, set[str]] = {}
    for module, relative in files.items():
        names: set[str] = set()
        package = module if relative.endswith("__init__.py") else module.rpartition(".")[0]
        for node in ast.walk(ast.parse((root / relative).read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)
        resolved = set()
        for name in names:
            parts = name.split(".")
            resolved.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))  # parents are imported too
        direct[module] = {n for n in resolved if n in files and n != module}

    closure: dict[str, set[str]] = {}
    for module in files:
        seen: set[str] = set()
        stack = [module]
        while stack:
            for dependency in direct.get(stack.pop(), ()):
                if dependency not in seen:
                    seen.add(dependency)
                    stack.append(dependency)
        closure[files[module]] = seen
    return closure


class Selector:
    def __init__(self, root: Path, tests: TestMap):
        self.tests = tests
        self.closure = import_closure(root)
        self.test_sources = {f: (root / f).read_text() for f in set(tests.files.values()) if (root / f).is_file()}
        render_lines = [
            number
            for number, line in enumerate((root / "telemetry_stack/render.py").read_text().splitlines(), start=1)
            if "get_template(" in line
        ]
        self.file_sizes: dict[str, int] = defaultdict(int)
        self.file_seconds: dict[str, float] = defaultdict(float)
        for nodeid, path in tests.files.items():
            self.file_sizes[path] += 1
            self.file_seconds[path] += tests.seconds.get(nodeid, 1.0)
        self.renderers = {
            n for line in render_lines for n in tests.by_line.get("telemetry_stack/render.py", {}).get(line, ())
        }

    def _ordered(self, first: set[str], then: set[str]) -> list[str]:
        def cost(nodeid: str) -> float:
            return self.tests.seconds.get(nodeid, 1.0)

        return sorted(first, key=cost) + sorted(then - first, key=cost)

    def select(self, mutant: Mutant) -> list[str]:
        """Node ids and test files to run, likeliest killers first (before any learning, the fastest)."""
        if mutant.kind == "template line":
            name = Path(mutant.path).name
            naming = {n for n, f in self.tests.files.items() if name in self.test_sources.get(f, "")}
            return self._ordered(self.renderers, naming)
        key_lines = set(mutant.key_lines)
        executed = self.tests.by_line.get(mutant.path, {})
        direct = {nodeid for line in key_lines for nodeid in executed.get(line, ())}
        broad: set[str] = set()
        if mutant.import_time or self.tests.outside.get(mutant.path, set()) & key_lines:
            # every importer sees what the module computed when it was imported
            module = _module_name(mutant.path)
            broad = {n for n, f in self.tests.files.items() if module in self.closure.get(f, set())}
            broad |= {n for line_tests in executed.values() for n in line_tests} | direct
        # A test module whose top-level code ran the statement may collect other tests with the mutant (its
        # parametrize lists), so it runs whole, by file.
        modules = sorted(f for f, lines in self.tests.collected.items() if lines.get(mutant.path, set()) & key_lines)
        if broad:  # the tests that ran the statement at test time are only the CLI subprocesses: no better bet
            direct = set()
        ids = [n for n in self._ordered(direct, broad) if self.tests.files.get(n) not in modules]
        return [n for n in ids if n in direct] + modules + [n for n in ids if n not in direct]

    def budget(self, selected: list[str]) -> float:
        """Seconds a run of these tests (node ids or test files) may take before it counts as a timeout."""
        traced = sum(
            self.file_seconds[n] if n in self.file_seconds else self.tests.seconds.get(n, 1.0) for n in selected
        )
        return TIMEOUT_CONSTANT + TIMEOUT_FACTOR * traced

    def stages(self, selected: list[str]) -> list[list[str]]:
        """The likeliest killers first, by node id; then the rest, where a whole test file stands for its node
        ids once it holds more than half of them (pytest matches hundreds of node ids slowly)."""
        first, rest = selected[:FIRST_STAGE], selected[FIRST_STAGE:]
        if not rest:
            return [first]
        per_file: dict[str, list[str]] = defaultdict(list)
        for nodeid in rest:
            per_file[self.tests.files.get(nodeid, "")].append(nodeid)
        second: list[str] = []
        for path, nodeids in per_file.items():
            second += [path] if path and 2 * len(nodeids) > self.file_sizes.get(path, 0) else nodeids
        return [first, second]


# ------------------------------------------------------------------------------------------------- running


def make_copy(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination, ignore=COPY_IGNORE, symlinks=True)
    return destination


def check_copy(copy: Path) -> None:
    """The copy's package, and through it the copy's templates, are what the tests import."""
    probe = (
        "import json, telemetry_stack, telemetry_stack.render as r; "
        "print(json.dumps([telemetry_stack.__file__, str(r.resource_dir('templates'))]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=copy, env=_environment(copy), capture_output=True, text=True, check=True
    )
    package, templates = json.loads(result.stdout)
    for found in (package, templates):
        if not Path(found).resolve().is_relative_to(copy.resolve()):
            raise SystemExit(f"The copy in {copy} imports {found}, outside the copy: mutants would not be tested.")


class Worker:
    def __init__(self, copy: Path, failed: list[str]):
        self.copy = copy
        self.env = _environment(copy)
        self.env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.deselect = [arg for nodeid in failed for arg in ("--deselect", nodeid)]

    def baseline(self) -> subprocess.CompletedProcess:
        return _pytest(self.copy, ["--tb=short", *self.deselect, TEST_ROOT], _environment(self.copy))  # writes bytecode

    def run(self, mutant: Mutant, stages: list[list[str]], timeouts: list[float]) -> None:
        """Run the stages (pytest arguments: node ids or test files) in order until one fails."""
        target = self.copy / mutant.path
        original = target.read_bytes()
        stat = target.stat()
        started = time.monotonic()
        try:
            target.write_bytes(mutant.mutated(original))
            os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 7_000_000_000))  # never the cached bytecode
            for stage, timeout in zip(stages, timeouts, strict=True):
                try:
                    result = _pytest(self.copy, ["-x", "--tb=no", *self.deselect, *stage], self.env, timeout)
                    if result.returncode == 4 and "not found: " in result.stdout + result.stderr:
                        # the mutant renamed or removed parametrized tests: run their files whole
                        files = list(dict.fromkeys(entry.partition("::")[0] for entry in stage))
                        result = _pytest(self.copy, ["-x", "--tb=no", *self.deselect, *files], self.env, timeout)
                except subprocess.TimeoutExpired:
                    mutant.status, mutant.detail = TIMEOUT, f"no result in {timeout:.0f}s"
                    return
                if result.returncode != 0:
                    break
        finally:
            target.write_bytes(original)
            os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            mutant.seconds = time.monotonic() - started
        failed = re.findall(r"^(?:FAILED|ERROR) (tests/.+?)(?: - .*)?$", result.stdout, re.MULTILINE)
        if result.returncode == 0:
            mutant.status = SURVIVED
        elif result.returncode in (1, 2) or (result.returncode == 4 and failed):
            # 4 with an ERROR line: a test module failed to import with the mutant (pytest's -x reports it so)
            mutant.status = KILLED
            mutant.detail = failed[0] if failed else f"pytest exit {result.returncode}"
        else:
            mutant.status = ERROR
            mutant.detail = (
                f"pytest exit {result.returncode}: {_short(result.stdout[-300:] + result.stderr[-300:], 200)}"
            )


def run_all(mutants: list[Mutant], selector: Selector, workers: list[Worker], progress: bool) -> None:
    pending: list[tuple[Mutant, list[str]]] = []
    for mutant in mutants:
        if mutant.status:
            continue
        selected = selector.select(mutant)
        if not selected:
            mutant.status, mutant.detail = NO_TESTS, "no fast test executes this statement"
            continue
        mutant.tests = len(selected)
        pending.append((mutant, selected))
    pending.sort(key=lambda item: -selector.budget(item[1]))  # longest first: the workers finish together
    jobs: queue.Queue = queue.Queue()
    for item in pending:
        jobs.put(item)
    done = [0]
    lock = threading.Lock()
    started = time.monotonic()

    killers: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))  # path -> test -> mutants killed

    def work(worker: Worker) -> None:
        while True:
            try:
                mutant, selected = jobs.get_nowait()
            except queue.Empty:
                return
            with lock:  # the tests that killed this file's other mutants go first: most mutants die at once
                known = dict(killers[mutant.path])
            selected = sorted(selected, key=lambda n: (-known.get(n, 0), -known.get(n.partition("::")[0], 0)))
            stages = selector.stages(selected)
            worker.run(mutant, stages, [selector.budget(stage) for stage in stages])
            with lock:
                if mutant.status == KILLED and mutant.detail.startswith("tests/"):
                    killers[mutant.path][mutant.detail] += 1  # a test, or a test file that failed to import
                    killers[mutant.path][mutant.detail.partition("::")[0]] += 1
                done[0] += 1
                if progress and (mutant.status not in SCORED_KILLED or done[0] % 50 == 0):
                    elapsed = time.monotonic() - started
                    print(
                        f"[{done[0]}/{len(pending)} {elapsed:5.0f}s] {mutant.status:<8} {mutant.location} {mutant.description}",
                        file=sys.stderr,
                        flush=True,
                    )

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# ------------------------------------------------------------------------------------------------ reporting


def score(mutants: list[Mutant]) -> tuple[int, int]:
    killed = sum(m.status in SCORED_KILLED for m in mutants)
    return killed, killed + sum(m.status in SCORED_SURVIVED for m in mutants)


def report(mutants: list[Mutant]) -> float:
    by_file: dict[str, list[Mutant]] = defaultdict(list)
    for mutant in mutants:
        by_file[mutant.path].append(mutant)
    print(f"\n{'file':<40} {'killed':>7} {'total':>6} {'score':>7}  (stillborn, errors: not scored)")
    for path, group in sorted(by_file.items()):
        killed, total = score(group)
        extra = [
            f"{sum(m.status == s for m in group)} {s}" for s in (STILLBORN, ERROR) if any(m.status == s for m in group)
        ]
        percent = f"{100 * killed / total:6.1f}%" if total else "     -"
        print(f"{path:<40} {killed:>7} {total:>6} {percent}  {', '.join(extra)}")
    killed, total = score(mutants)
    overall = 100 * killed / total if total else 100.0
    print(f"{'overall':<40} {killed:>7} {total:>6} {overall:6.1f}%")
    survivors = [m for m in mutants if m.status in SCORED_SURVIVED or m.status == ERROR]
    if survivors:
        print(f"\nSurvivors ({len(survivors)}):")
        for m in sorted(survivors, key=lambda m: (m.path, m.line, m.column)):
            note = f"  [{m.status}{': ' + m.detail if m.status == ERROR else ''}]" if m.status != SURVIVED else ""
            print(f"  {m.location}: {m.description}{note}")
    return overall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sample", type=int, metavar="N", help="run N randomly chosen mutants instead of all")
    parser.add_argument("--seed", type=int, default=0, help="the sample's random seed (default 0)")
    parser.add_argument("--min", type=float, default=85.0, help="exit 1 when the score is below this (default 85)")
    parser.add_argument("--paths", nargs="+", default=[], metavar="GLOB", help="only mutate these files")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel workers (default: CPUs)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every mutant and its result here")
    parser.add_argument(
        "--without-tests", nargs="+", default=[], metavar="GLOB", help="leave these test files out (in the copy)"
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and exit (no tests run)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies (their path is printed)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument(
        "--skip-failing",
        action="store_true",
        help="leave out tests that fail without any mutant (default: stop, exit 2)",
    )
    args = parser.parse_args(argv)

    started = time.monotonic()
    if args.list:
        for m in sorted(all_mutants(REPO, args.paths), key=lambda m: (m.path, m.line, m.column, m.description)):
            print(f"{m.location}: [{m.kind}] {m.description}{'  (' + m.status + ')' if m.status else ''}")
        return 0

    scratch = Path(tempfile.mkdtemp(prefix="llama-telemetry-mutation-"))
    try:
        # One snapshot of the checkout: the mutants, the traced run and the workers all see the same files, however
        # the checkout changes meanwhile.
        snapshot = make_copy(REPO, scratch / "snapshot")
        for pattern in args.without_tests:
            for test_file in snapshot.glob(pattern):
                test_file.unlink()  # what do the other tests miss without it?
        check_copy(snapshot)
        mutants = all_mutants(snapshot, args.paths)
        if args.sample is not None and args.sample < len(mutants):
            mutants = random.Random(args.seed).sample(mutants, args.sample)
        mutants.sort(key=lambda m: (m.path, m.line, m.column, m.description))
        print(f"{len(mutants)} mutants; scratch copies in {scratch}", file=sys.stderr, flush=True)
        files = sorted({m.path for m in mutants if m.path.endswith(".py")} | {"telemetry_stack/render.py"})
        tests = traced_run(snapshot, scratch, files, args.skip_failing)
        print(f"traced {len(tests.seconds)} tests in {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
        selector = Selector(snapshot, tests)
        workers = [Worker(make_copy(snapshot, scratch / f"worker-{i}"), tests.failed) for i in range(max(1, args.jobs))]
        baselines: list[subprocess.CompletedProcess] = []
        threads = [threading.Thread(target=lambda w=w: baselines.append(w.baseline())) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for result in baselines:
            if result.returncode != 0:
                print(f"The fast tests fail without any mutant:\n{result.stdout[-4000:]}", file=sys.stderr)
                return 2
        print(f"workers ready after {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
        run_all(mutants, selector, workers, progress=not args.quiet)
    finally:
        if args.keep:
            print(f"kept {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    overall = report(mutants)
    counts = ", ".join(
        f"{sum(m.status == s for m in mutants)} {s}" for s in (KILLED, TIMEOUT, SURVIVED, NO_TESTS, STILLBORN, ERROR)
    )
    print(f"\n{len(mutants)} mutants ({counts}) in {time.monotonic() - started:.0f}s")
    if args.json:
        args.json.write_text(json.dumps([asdict(m) for m in mutants], indent=1))
    if overall < args.min:
        print(f"Mutation score {overall:.1f}% is below --min {args.min:g}%.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
