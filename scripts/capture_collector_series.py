"""Capture the Prometheus series the real OpenTelemetry Collector makes of the demo's metrics.

Writes ``tests/data/collector_series.prom.gz``, the data ``tests/unit/test_dashboard_meaning.py`` checks every
dashboard query against: the metric and label names those tests use come from here, never from the catalog, so
they show the dashboards agree with what the collector really produces.

How: the collector that ``tests/engine/programs.py`` builds from its Go modules (built first if not cached) runs as a
plain local process, no container, with the configuration ``telemetry_stack.render.render_files()`` renders, changed
only where a local run must be: every listening endpoint moves to a free loopback port, and every exporter but the
Prometheus one (traces to Jaeger) sends to a loopback port where nothing listens; only metrics are sent. The script
fails if anything but those endpoints differs: processors, pipelines and the Prometheus exporter stay as rendered.
Four apps then send the demo's metrics over OTLP/HTTP with the pieces ``llama-telemetry demo`` sends with
(``EventGenerator``, ``MetricRecorder``, the SDK's OTLP exporter), as in tests/engine/test_pipeline.py: one named like
OGX and one like Llama Stack, both with the servers' own buckets; one OGX app that sends exponential histograms
(``OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=base2_exponential_bucket_histogram``) and sets
``service.namespace`` (job ``prod/ogx-exponential``); and one Llama Stack app with exponential histograms, so that
every name a dashboard selector can match, both servers' native histograms included, is in the data. Each app's
generator is seeded and exports once, after a fixed number of requests: a re-run writes the same bytes unless what
the collector produces changed.

What is kept, and why: the collector's Prometheus endpoint is scraped in the protobuf format, because that is what
our Prometheus asks for (``scrape_native_histograms: true``) and the only exposition format that carries native
histograms. The text format shows an exponential histogram as ``_bucket{le="+Inf"}``, ``_sum`` and ``_count``
series, which Prometheus never stores when it scrapes protobuf. The file holds our families (``ogx_*``,
``llama_stack_*``; not ``target_info``), sorted by name and each family's series by labels, in the text format:

* counters, gauges and classic histograms: the collector's own text exposition lines, verbatim (the script checks
  the text and protobuf scrapes agree on every one of them);
* each native histogram: one line under its base name, as Prometheus stores it, in a notation like that of
  Prometheus's PromQL tests with the buckets listed sparsely as ``index:count`` (absolute counts; buckets that
  counted nothing left out)::

      ogx_inference_duration_seconds{job="prod/ogx-exponential",...} {{schema:8 sum:5.29 count:1 z_bucket:0
      z_bucket_w:1e-128 buckets:[616:1]}}

HELP lines are left out. Gzipped (deterministically) because the collector exports every auto-instrumentation
metric under both servers' prefixes and every histogram with all its buckets: about 1.9 MB of text, 42 KB packed.

Re-run it, and commit the new file, whenever what reaches Prometheus may change: the pinned collector release
(telemetry_stack/services.py), the collector template (templates/otel-collector.yaml.j2), the catalog or the demo.
``--check`` captures anew and fails when the committed file differs.

    .venv/bin/python scripts/capture_collector_series.py            # write tests/data/collector_series.prom.gz
    .venv/bin/python scripts/capture_collector_series.py --check    # exit 1 if the committed file differs
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gzip
import math
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from telemetry_stack import catalog  # noqa: E402
from telemetry_stack.render import render_files  # noqa: E402

OUTPUT = ROOT / "tests" / "data" / "collector_series.prom.gz"
AGGREGATION, EXPONENTIAL = catalog.EXPONENTIAL_HISTOGRAMS
# job label -> (server, histogram aggregation of the app's SDK, service.namespace): test_pipeline.py's three apps,
# and a Llama Stack app with exponential histograms, so each server's native histograms are there too.
APPS: dict[str, tuple[catalog.Server, str, str]] = {
    "ogx-demo": (catalog.OGX, "explicit_bucket_histogram", ""),
    "llama-stack-demo": (catalog.LLAMA_STACK, "explicit_bucket_histogram", ""),
    "prod/ogx-exponential": (catalog.OGX, EXPONENTIAL, "prod"),
    "llama-stack-exponential": (catalog.LLAMA_STACK, EXPONENTIAL, ""),
}
REQUESTS_PER_APP = 80  # the warm-up (every kind of request, succeeding and failing), then drawn by weight
SEED = 0
OURS = re.compile(r"(ogx|llama_stack)_")
PROTOBUF = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
TEXT = "text/plain;version=0.0.4"


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# --- the collector, run locally ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Ports:
    grpc: int = field(default_factory=free_port)
    http: int = field(default_factory=free_port)
    health: int = field(default_factory=free_port)
    metrics: int = field(default_factory=free_port)
    nowhere: int = field(default_factory=free_port)  # where the other exporters send: nothing listens there


def local_config(rendered: str, ports: Ports) -> dict:
    """The rendered collector configuration with loopback endpoints on free ports, and nothing else changed.

    The Prometheus exporter listens where the script scrapes; every other exporter (traces to Jaeger, and logs to
    Loki when rendered with them) sends to a loopback port where nothing listens."""
    config = yaml.safe_load(rendered)
    local = copy.deepcopy(config)
    local["extensions"]["health_check"]["endpoint"] = f"127.0.0.1:{ports.health}"
    local["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] = f"127.0.0.1:{ports.grpc}"
    local["receivers"]["otlp"]["protocols"]["http"]["endpoint"] = f"127.0.0.1:{ports.http}"
    for name, exporter in local["exporters"].items():
        if name == "prometheus":
            exporter["endpoint"] = f"127.0.0.1:{ports.metrics}"
        elif "endpoint" in exporter:  # host:port, or a URL whose scheme and path stay
            exporter["endpoint"] = re.sub(
                r"^(\w+://)?[^/]+", lambda m: f"{m[1] or ''}127.0.0.1:{ports.nowhere}", exporter["endpoint"]
            )
    assert _without_endpoints(local) == _without_endpoints(config), "only endpoints may differ from the rendered config"
    return local


def _without_endpoints(node: object) -> object:
    if isinstance(node, dict):
        return {k: _without_endpoints(v) for k, v in node.items() if k != "endpoint"}
    if isinstance(node, list):
        return [_without_endpoints(v) for v in node]
    return node


@contextlib.contextmanager
def running_collector(binary: Path, config: dict, ports: Ports, workdir: Path) -> Iterator[None]:
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    log_path = workdir / "collector.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([str(binary), f"--config={path}"], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"http://127.0.0.1:{ports.health}/", timeout=1).status_code == 200:
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the collector did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.1)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- the apps ------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def environment(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


def send_app(endpoint: str, job: str, server: catalog.Server, aggregation: str, namespace: str) -> None:
    """One app's demo metrics, exported once (cumulative) when its meter provider is flushed."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    from telemetry_stack.demo import EventGenerator, MetricRecorder, make_meter_provider

    # A fixed service.instance.id (the instance label): the SDK would make up a new one on every run.
    attributes = {"service.name": job.rpartition("/")[2], "service.version": "demo", "service.instance.id": "capture"}
    if namespace:
        attributes["service.namespace"] = namespace
    with environment(AGGREGATION, aggregation):  # the exporter reads it when it is created, as an app's does
        exporter = OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics", timeout=10)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)  # only the flush exports
    provider = make_meter_provider([reader], Resource.create(attributes))
    recorder = MetricRecorder(provider, server)
    generator = EventGenerator(SEED)
    for _ in range(REQUESTS_PER_APP):
        recorder.record_all(generator.next_request().metrics)
    recorder.record_all(generator.drain())
    assert provider.force_flush(20_000), f"{job}: the export did not finish"
    provider.shutdown()


# --- the protobuf exposition: length-delimited io.prometheus.client.MetricFamily messages ----------------------------

TYPES = {0: "counter", 1: "gauge", 3: "untyped", 4: "histogram"}  # MetricType; summaries are never ours


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def _zigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def _fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of one message: an int for a varint, bytes for every other wire type."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
            continue
        if wire == 2:
            size, pos = _varint(data, pos)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
        else:
            raise ValueError(f"wire type {wire} in a MetricFamily")
        yield number, wire, data[pos : pos + size]
        pos += size


def _message(raw: int | bytes) -> dict[int, int | bytes]:
    assert isinstance(raw, bytes)
    return {number: value for number, _, value in _fields(raw)}


def _double(raw: int | bytes) -> float:
    assert isinstance(raw, bytes)
    return struct.unpack("<d", raw)[0]


def _int(raw: int | bytes) -> int:
    assert isinstance(raw, int)
    return raw


def _text(raw: int | bytes) -> str:
    assert isinstance(raw, bytes)
    return raw.decode()


def _sints(wire: int, raw: int | bytes) -> list[int]:
    """A repeated sint64, packed or not."""
    if wire == 0:
        return [_zigzag(_int(raw))]
    assert isinstance(raw, bytes)
    values, pos = [], 0
    while pos < len(raw):
        value, pos = _varint(raw, pos)
        values.append(_zigzag(value))
    return values


@dataclass
class Buckets:
    """One side of a native histogram: spans of (offset, length) and the bucket counts as deltas."""

    spans: list[tuple[int, int]] = field(default_factory=list)
    deltas: list[int] = field(default_factory=list)

    def counts(self) -> dict[int, int]:
        """{bucket index: count} of every bucket that counted something."""
        counts, index, running, deltas = {}, 0, 0, iter(self.deltas)
        for number, (offset, length) in enumerate(self.spans):
            index = offset if number == 0 else index + offset
            for _ in range(length):
                running += next(deltas)
                if running:
                    counts[index] = running
                index += 1
        return counts


@dataclass
class Native:
    schema: int = 0
    zero_threshold: float = 0.0
    zero_count: int = 0
    positive: Buckets = field(default_factory=Buckets)
    negative: Buckets = field(default_factory=Buckets)


@dataclass
class Sample:
    labels: dict[str, str]
    value: float | None = None  # a counter's or a gauge's
    count: int = 0  # a histogram's
    sum: float = 0.0
    buckets: list[tuple[float, int]] = field(default_factory=list)  # classic: (upper bound, cumulative count)
    native: Native | None = None


def parse_protobuf(data: bytes) -> dict[str, tuple[str, list[Sample]]]:
    """{family name: (type, samples)} of a protobuf exposition."""
    families: dict[str, tuple[str, list[Sample]]] = {}
    pos = 0
    while pos < len(data):
        size, pos = _varint(data, pos)
        name, kind, samples = "", 0, []
        for number, _wire, raw in _fields(data[pos : pos + size]):
            if number == 1:
                name = _text(raw)
            elif number == 3:
                kind = _int(raw)
            elif number == 4:
                assert isinstance(raw, bytes)
                samples.append(_metric(raw))
        pos += size
        if kind not in TYPES:
            raise ValueError(f"{name}: metric type {kind} is not one the collector exports for us")
        families[name] = (TYPES[kind], samples)
    return families


def _metric(data: bytes) -> Sample:
    sample = Sample({})
    for number, _wire, raw in _fields(data):
        if number == 1:  # LabelPair
            pair = _message(raw)
            sample.labels[_text(pair.get(1, b""))] = _text(pair.get(2, b""))
        elif number in (2, 3, 5):  # Gauge, Counter, Untyped: field 1 is the value
            sample.value = _double(_message(raw).get(1, bytes(8)))
        elif number == 7:
            assert isinstance(raw, bytes)
            _histogram(raw, sample)
    return sample


def _span(raw: int | bytes) -> tuple[int, int]:
    span = _message(raw)
    return _zigzag(_int(span.get(1, 0))), _int(span.get(2, 0))


def _histogram(data: bytes, sample: Sample) -> None:
    native = Native()
    for number, wire, raw in _fields(data):
        if number == 1:
            sample.count = _int(raw)
        elif number == 2:
            sample.sum = _double(raw)
        elif number == 3:
            bucket = _message(raw)
            sample.buckets.append((_double(bucket.get(2, bytes(8))), _int(bucket.get(1, 0))))
        elif number == 5:
            native.schema = _zigzag(_int(raw))
        elif number == 6:
            native.zero_threshold = _double(raw)
        elif number == 7:
            native.zero_count = _int(raw)
        elif number == 9:
            native.negative.spans.append(_span(raw))
        elif number == 10:
            native.negative.deltas += _sints(wire, raw)
        elif number == 12:
            native.positive.spans.append(_span(raw))
        elif number == 13:
            native.positive.deltas += _sints(wire, raw)
        elif number in (4, 8, 11, 14):
            raise ValueError("a float histogram: the collector exports integer counts")
    # What Prometheus's protobuf parser takes for a native histogram (model/textparse/protobufparse.go).
    if native.positive.spans or native.negative.spans or native.zero_threshold > 0 or native.zero_count > 0:
        sample.native = native


# --- the text exposition ---------------------------------------------------------------------------------------------

LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
UNESCAPE = {"n": "\n", "\\": "\\", '"': '"'}


def parse_labels(text: str | None) -> dict[str, str]:
    return {n: re.sub(r"\\(.)", lambda m: UNESCAPE[m[1]], v) for n, v in LABEL.findall(text or "")}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def text_families(text: str) -> dict[str, list[str]]:
    """{family name: its sample lines} of a text exposition."""
    families: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            current = line.split()[2]
            families[current] = []
        elif line and not line.startswith("#"):
            families[current].append(line)
    return families


Key = tuple[str, frozenset[tuple[str, str]]]


def _key(name: str, labels: dict[str, str]) -> Key:
    """A series' identity, with ``le`` spelled as a number so ``1`` and ``1.0`` agree."""
    labels = dict(labels)
    if "le" in labels:
        labels["le"] = repr(float(labels["le"]))
    return name, frozenset(labels.items())


def classic_series(name: str, kind: str, samples: list[Sample]) -> dict[Key, float]:
    """Every classic series of a protobuf family and its value, as the text format names them."""
    series: dict[Key, float] = {}
    for sample in samples:
        if sample.native is not None:
            continue
        if kind != "histogram":
            assert sample.value is not None
            series[_key(name, sample.labels)] = sample.value
            continue
        for bound, count in [*sample.buckets, (math.inf, sample.count)]:
            series[_key(f"{name}_bucket", {**sample.labels, "le": repr(bound)})] = count
        series[_key(f"{name}_sum", sample.labels)] = sample.sum
        series[_key(f"{name}_count", sample.labels)] = sample.count
    return series


def native_line(name: str, sample: Sample) -> str:
    native = sample.native
    assert native is not None
    labels = ",".join(f'{n}="{_escape(v)}"' for n, v in sorted(sample.labels.items()))
    buckets = " ".join(f"{i}:{c}" for i, c in sorted(native.positive.counts().items()))
    body = (
        f"schema:{native.schema} sum:{sample.sum!r} count:{sample.count} z_bucket:{native.zero_count} "
        f"z_bucket_w:{native.zero_threshold!r} buckets:[{buckets}]"
    )
    negative = native.negative.counts()
    if negative:
        body += " n_buckets:[" + " ".join(f"{i}:{c}" for i, c in sorted(negative.items())) + "]"
    return f"{name}{{{labels}}} {{{{{body}}}}}"


def exposition(text: str, protobuf: dict[str, tuple[str, list[Sample]]]) -> str:
    """Our families as Prometheus scrapes them: the text scrape's classic lines, native histograms from protobuf."""
    lines_of = text_families(text)
    ours = sorted(name for name in protobuf if OURS.match(name))
    assert ours == sorted(n for n in lines_of if OURS.match(n)), "the two scrapes list different families"
    out: list[str] = []
    for name in ours:
        kind, samples = protobuf[name]
        natives = {frozenset(s.labels.items()): s for s in samples if s.native is not None}
        expected = classic_series(name, kind, samples)
        seen: dict[Key, float] = {}
        series: dict[tuple[tuple[str, str], ...], list[str]] = {}
        for line in lines_of[name]:
            match = LINE.match(line)
            assert match, line
            labels = parse_labels(match[2])
            plain = {k: v for k, v in labels.items() if k != "le"}
            if frozenset(plain.items()) in natives:
                continue  # the text format's stand-in for a native histogram
            seen[_key(match[1], labels)] = float(match[3])
            series.setdefault(tuple(sorted(plain.items())), []).append(line)
        assert seen == expected, f"{name}: the text and protobuf scrapes disagree"
        for labels, sample in natives.items():
            series[tuple(sorted(labels))] = [native_line(name, sample)]
        out.append(f"# TYPE {name} {kind}")
        for _labels, lines in sorted(series.items()):
            out += lines
    return "\n".join(out) + "\n"


# --- the capture ---------------------------------------------------------------------------------------------------


def _scrape(url: str, accept: str) -> requests.Response:
    answer = requests.get(url, headers={"Accept": accept}, timeout=10)
    answer.raise_for_status()
    return answer


def capture() -> str:
    from tests.engine import programs

    binary = programs.ensure_built("otel-collector", say)
    release = programs.release_of("otel-collector", programs.build_info(binary))
    ports = Ports()
    config = local_config(render_files()["otel-collector/config.yaml"].decode(), ports)
    url = f"http://127.0.0.1:{ports.metrics}/metrics"
    with tempfile.TemporaryDirectory(prefix="capture-collector-") as tmp:
        with running_collector(binary, config, ports, Path(tmp)):
            for job, (server, aggregation, namespace) in APPS.items():
                send_app(f"http://127.0.0.1:{ports.http}", job, server, aggregation, namespace)
            # The batch processor passes the last export on within a second; wait until every app shows, then
            # until two scrapes a second apart are equal (nothing left in the processor).
            deadline = time.monotonic() + 30
            previous = ""
            while True:
                text = _scrape(url, TEXT).text
                jobs = set(re.findall(r'_requests_total\{[^}]*job="([^"]+)"', text))
                if (jobs == set(APPS) and text == previous) or time.monotonic() > deadline:
                    break
                previous = text
                time.sleep(1)
            assert jobs == set(APPS), f"the collector exported requests of {sorted(jobs)}, not of {sorted(APPS)}"
            answer = _scrape(url, PROTOBUF)
            assert answer.headers["Content-Type"].startswith("application/vnd.google.protobuf"), answer.headers
            protobuf = parse_protobuf(answer.content)
            assert _scrape(url, TEXT).text == text, "the collector's series changed while they were captured"
    apps = ", ".join(f"{job} ({server.key}, {agg})" for job, (server, agg, _) in APPS.items())
    header = (
        f"# What the OpenTelemetry Collector {release}, configured as llama-telemetry renders it, exports for\n"
        f"# {REQUESTS_PER_APP} demo requests (seed {SEED}) of each app: {apps}.\n"
        "# Scraped as Prometheus scrapes it (protobuf); native histograms as {{schema:.. buckets:[index:count ..]}}.\n"
        "# Written by scripts/capture_collector_series.py: re-run it, do not edit.\n"
    )
    return header + exposition(text, protobuf)


def pack(text: str) -> bytes:
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)  # no name, no time: the same text, the same bytes


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="capture anew and fail if the committed file differs")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    captured = capture()
    if args.check:
        committed = gzip.decompress(args.output.read_bytes()).decode() if args.output.is_file() else ""
        if committed != captured:
            say(f"{args.output} is not what the collector produces now: run scripts/capture_collector_series.py")
            return 1
        print(f"{args.output} is what the collector produces")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    packed = pack(captured)
    args.output.write_bytes(packed)
    lines = captured.count("\n")
    print(f"wrote {args.output}: {lines} lines, {len(captured.encode())} bytes of text, {len(packed)} bytes gzipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
