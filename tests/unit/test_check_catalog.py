"""scripts/check_catalog.py reads instrument definitions and attribute keys from a wheel's source.

The wheel here is a small package written like the servers' telemetry modules; the expectations are
what a reader of that source sees."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import pytest

from telemetry_stack import catalog

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("check_catalog", ROOT / "scripts" / "check_catalog.py")
check_catalog = importlib.util.module_from_spec(spec)
sys.modules["check_catalog"] = check_catalog  # its dataclasses look their module up
spec.loader.exec_module(check_catalog)

CONSTANTS = """
prefix = "ogx"
VECTOR = f"{prefix}.vector_io"
INSERTS = f"{VECTOR}.inserts_total"
RETRIEVAL = f"{VECTOR}.retrieval_duration_seconds"
REQUESTS = f"{prefix}.request" + "s_total"
"""
METRICS = """
from opentelemetry import metrics
from pkg.telemetry.constants import INSERTS, RETRIEVAL, REQUESTS

meter = metrics.get_meter("ogx.vector_io")
BUCKETS = [0.5, 1, 2.5]
inserts: Counter = meter.create_counter(name=INSERTS, unit="1", description="x")
retrieval = meter.create_histogram(RETRIEVAL, unit="s", explicit_bucket_boundaries_advisory=BUCKETS)
requests_total = meter.create_counter(name=REQUESTS, unit="1")


def create_vector_metric_attributes(vector_db=None, operation=None, status=None):
    attributes = {}
    if vector_db is not None:
        attributes["vector_db"] = vector_db
    if operation is not None:
        attributes["operation"] = operation
    if status is not None:
        attributes["status"] = status
    return attributes
"""
ROUTER = """
from pkg.telemetry.vector_metrics import inserts, retrieval, requests_total, create_vector_metric_attributes

async def insert(store):
    attrs = None
    try:
        attrs = create_vector_metric_attributes(vector_db=store, operation="chunks", status=None)
        inserts.add(1, {**attrs, "status": "success"})
        retrieval.record(0.1, attributes=attrs)
    except Exception:
        inserts.add(1, create_vector_metric_attributes(vector_db=store, status="error"))
        raise

def middleware():
    base = {"api": "x"}
    requests_total.add(1, {**base, "status_code": "200"})
"""
NEWER_SYNTAX = "def f[T](x: T) -> T:\n    return x\n"


def _wheel(tmp_path: Path, **extra: str) -> Path:
    path = tmp_path / "pkg-1.0-py3-none-any.whl"
    files = {
        "pkg/telemetry/constants.py": CONSTANTS,
        "pkg/telemetry/vector_metrics.py": METRICS,
        "pkg/core/router.py": ROUTER,
        **extra,
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def test_reads_definitions_and_the_attribute_keys_of_every_call_site(tmp_path):
    package = check_catalog.Package(_wheel(tmp_path))
    found = package.instruments()
    assert package.record_attributes(found) == []
    by_name = {f.name: f for f in found.values()}
    assert set(by_name) == {
        "ogx.vector_io.inserts_total",
        "ogx.vector_io.retrieval_duration_seconds",
        "ogx.requests_total",
    }
    inserts = by_name["ogx.vector_io.inserts_total"]
    assert (inserts.kind, inserts.unit, inserts.buckets) == ("counter", "1", None)
    assert inserts.attributes == {"vector_db", "operation", "status"}
    assert inserts.recorded == 2
    retrieval = by_name["ogx.vector_io.retrieval_duration_seconds"]
    assert (retrieval.kind, retrieval.unit, retrieval.buckets) == ("histogram", "s", (0.5, 1.0, 2.5))
    assert retrieval.attributes == {"vector_db", "operation"}  # status=None leaves the key out
    assert by_name["ogx.requests_total"].attributes == {"api", "status_code"}


def test_newer_syntax_is_harmless_unless_the_file_may_hold_metrics(tmp_path):
    package = check_catalog.Package(_wheel(tmp_path, **{"pkg/util.py": NEWER_SYNTAX}))
    assert package.unreadable == []
    package = check_catalog.Package(_wheel(tmp_path, **{"pkg/m.py": NEWER_SYNTAX + "x = meter.create_counter('a')\n"}))
    assert len(package.unreadable) == 1 and package.unreadable[0].startswith("pkg/m.py:1:")


def _found(inst: catalog.Instrument, server: catalog.Server, **changes) -> dict:
    found = check_catalog.Found(
        inst.otel_name(server), inst.kind, inst.unit, inst.buckets, "x.py:1", set(inst.attributes), 1
    )
    for key, value in changes.items():
        setattr(found, key, value)
    return {inst.name: found}


def _catalog_as_found(server: catalog.Server) -> dict:
    found = {}
    for inst in catalog.INSTRUMENTS:
        if inst.custom and inst.defined_by(server):
            found.update(_found(inst, server))
    return found


@pytest.mark.parametrize("server", catalog.SERVERS, ids=lambda s: s.key)
def test_a_wheel_that_matches_has_no_differences(server):
    assert check_catalog.compare(server, _catalog_as_found(server)) == []


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("unit", "ms", "unit is 'ms' there"),
        ("kind", "updowncounter", "kind is 'updowncounter' there"),
        ("buckets", (1.0, 2.0), "buckets is (1.0, 2.0) there"),
        ("attributes", {"vector_db"}, "attributes is {'vector_db'} there"),
        ("recorded", 0, "is never recorded"),
    ],
)
def test_each_disagreement_is_reported(field, value, words):
    found = {
        **_catalog_as_found(catalog.OGX),
        **_found(catalog.VECTOR_RETRIEVAL_DURATION, catalog.OGX, **{field: value}),
    }
    (problem,) = check_catalog.compare(catalog.OGX, found)
    assert "ogx.vector_io.retrieval_duration_seconds" in problem and words in problem


def test_instruments_missing_on_either_side_are_reported():
    found = _catalog_as_found(catalog.LLAMA_STACK)
    del found[catalog.REQUESTS.name]
    found["extra"] = check_catalog.Found("llama_stack.new_total", "counter", "1", None, "n.py:3", set(), 1)
    problems = check_catalog.compare(catalog.LLAMA_STACK, found)
    assert sorted(problems) == sorted(
        [
            "llama-stack==0.7.3: llama_stack.new_total (n.py:3) is not in the catalog",
            "llama-stack==0.7.3: the catalog's llama_stack.requests_total is not defined in the wheel",
        ]
    )
