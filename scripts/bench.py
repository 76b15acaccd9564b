#!/usr/bin/env python3
"""Benchmark llama-telemetry against each engine's own floor, in the same run, so the ratios are fair.

    python scripts/bench.py                         # every engine that answers, 5 runs, the suite's test images
    python scripts/bench.py --engines podman --runs 9 --json-out /tmp/bench.json
    python scripts/bench.py --images default         # the pinned release images (must be present: --pull never)

For each engine, every run measures, one after the other:

1. the floor: the same four containers `up` would create (same images, users, commands, port bindings,
   the same rendered files copied in with put_archive before start; built by telemetry_stack.stack.build_stack
   and driven through the product's Engine backend), created and started in parallel straight through the
   engine SDK, each service's health and readiness URLs polled every 0.1 s until they answer; then its parallel stop-and-remove.
   It runs as a program of its own (scripts/bench_floor.py), timed from spawn to exit like the CLI, so
   both pay a Python interpreter's start and the SDK's import and the ratio shows what the tool adds.
   The floor uses its own project (containers `bench-floor-*`, network `llama-telemetry-bench-floor`).
2. the same floor inside this process, where the interpreter and the SDK are already loaded: reported, not
   judged, since any separate command must first start an interpreter and import the SDK;
3. `llama-telemetry up` (the real console script, `--pull never`, project `bench`) until all healthy;
4. a no-op `up` on the healthy stack;   5. `status`;   6. `down`;   7. `llama-telemetry --help`;
8. the CLI's start-up alone: a fresh interpreter importing what `up` imports.

The product's modules are byte-compiled first, as `pip install` does for the wheel (an editable install
under PYTHONDONTWRITEBYTECODE would otherwise compile them from source on every run).
Both stacks use the same freshly chosen free host ports (never the default ones), one after the other.
A warm-up cycle (not measured) runs first, so the data volumes exist for both, as they do after a first `up`.
Peak memory is the CLI process's maximum RSS as /usr/bin/time reports it (or, without GNU time, as a small
Python parent reads it with wait4); never RUSAGE_CHILDREN of the bench itself, which counts the bench's memory.

Prints a table (measured median, target, pass/FAIL) and writes every raw sample to JSON. The exit code is
non-zero only when something failed to run; missed targets are reported, not fatal. Everything the benchmark
creates is removed at the end, also after an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The suite's image builder (the real programs, the Grafana stand-in), run as a command in the checkout as
# .ci/run runs it, never imported: it stays the one home of how the test images are built.
IMAGE_BUILDER = "tests.engine.images"

ENGINES = ("docker", "podman")
PROJECT = "bench"
FLOOR_PROJECT = "bench-floor"
HEALTH_TIMEOUT = 120.0
CLI_TIMEOUT = 300.0

# Targets from issue 5, "Speed, shown by a benchmark".
UP_RATIO_MAX = 1.25  # up -> all healthy, relative to the floor
NOOP_MAX = 1.0  # seconds
DOWN_RATIO_MAX = 1.5  # relative to the floor's stop-and-remove
DOWN_MAX = 1.5  # seconds (strictly below)
HELP_MAX = 0.3
STATUS_MAX = 0.6

# Sample keys, in the order a run takes them.
FLOOR_UP, FLOOR_DOWN = "floor_up", "floor_down"  # the floor as its own process: the targets' reference
INPROC_UP, INPROC_DOWN = "inprocess_floor_up", "inprocess_floor_down"  # the floor inside the bench (reported)
UP, NOOP, STATUS, DOWN, HELP = "up", "noop_up", "status", "down", "help"
STARTUP = "startup"  # a fresh interpreter importing what `up` imports: the part the in-process floor never pays
SAMPLE_KEYS = (FLOOR_UP, FLOOR_DOWN, INPROC_UP, INPROC_DOWN, UP, NOOP, STATUS, DOWN, HELP, STARTUP)
FLOOR_SCRIPT = REPO / "scripts" / "bench_floor.py"
CLI_KEYS = (UP, NOOP, STATUS, DOWN, HELP)


class BenchError(Exception):
    """Something did not run (as opposed to a missed target)."""


# ------------------------------------------------------------------------------------ pure parts


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no samples")
    return float(statistics.median(values))


def ratio(value: float, reference: float) -> float:
    """value / reference; infinite when the reference is not positive (nothing to compare with)."""
    return value / reference if reference > 0 else float("inf")


def paired_ratios(values: Sequence[float], references: Sequence[float]) -> list[float]:
    """Per-run ratios: each sample against the floor measured in the same run."""
    if len(values) != len(references):
        raise ValueError(f"{len(values)} samples against {len(references)} references")
    return [ratio(v, r) for v, r in zip(values, references, strict=True)]


def medians(samples: Mapping[str, Sequence[float]]) -> dict[str, float]:
    return {key: median(values) for key, values in samples.items() if values}


@dataclass(frozen=True)
class Row:
    engine: str
    metric: str
    measured: str
    target: str
    result: str  # "pass", "FAIL" or "-" (for reference values)
    value: float | None = None


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("pass" if ok else "FAIL")


def fmt_seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"


def fmt_ratio(value: float) -> str:
    return f"{value:.3f}×"


def summarize(samples: Mapping[str, Sequence[float]], rss_kib: Mapping[str, Sequence[int]] | None = None) -> dict:
    """Medians, per-run ratios against the floors (and their medians) and peak RSS: what the table and the
    JSON report are made of."""
    ratios = {
        "up_vs_floor": paired_ratios(samples[UP], samples[FLOOR_UP]),
        "down_vs_floor": paired_ratios(samples[DOWN], samples[FLOOR_DOWN]),
    }
    if samples.get(INPROC_UP):
        ratios["up_vs_inprocess_floor"] = paired_ratios(samples[UP], samples[INPROC_UP])
        ratios["down_vs_inprocess_floor"] = paired_ratios(samples[DOWN], samples[INPROC_DOWN])
    return {
        "medians": medians(samples),
        "ratios": ratios,
        "median_ratios": {key: median(values) for key, values in ratios.items()},
        "peak_rss_kib": {key: max(values) for key, values in (rss_kib or {}).items() if values},
    }


def evaluate(
    engine: str,
    samples: Mapping[str, Sequence[float]],
    rss_kib: Mapping[str, Sequence[int]] | None = None,
    noop_unchanged: bool = True,
) -> list[Row]:
    """Table rows (median values, target, verdict) for one engine's samples."""
    summary = summarize(samples, rss_kib)
    med, ratios, peaks = summary["medians"], summary["median_ratios"], summary["peak_rss_kib"]
    up_ratio, down_ratio = ratios["up_vs_floor"], ratios["down_vs_floor"]
    rows = [
        Row(
            engine,
            "floor (own process): create+start → all healthy",
            fmt_seconds(med[FLOOR_UP]),
            "(reference)",
            verdict(None),
            med[FLOOR_UP],
        ),
        Row(
            engine,
            "up → all healthy",
            f"{fmt_seconds(med[UP])} = {fmt_ratio(up_ratio)} floor",
            f"≤ {UP_RATIO_MAX:g}× floor",
            verdict(up_ratio <= UP_RATIO_MAX),
            up_ratio,
        ),
        Row(
            engine,
            "no-op up (healthy stack)",
            fmt_seconds(med[NOOP]) + ("" if noop_unchanged else ", CHANGED containers"),
            f"≤ {NOOP_MAX:g} s, nothing changed",
            verdict(med[NOOP] <= NOOP_MAX and noop_unchanged),
            med[NOOP],
        ),
        Row(
            engine,
            "floor (own process): stop+remove",
            fmt_seconds(med[FLOOR_DOWN]),
            "(reference)",
            verdict(None),
            med[FLOOR_DOWN],
        ),
        Row(
            engine,
            "down",
            f"{fmt_seconds(med[DOWN])} = {fmt_ratio(down_ratio)} floor",
            f"≤ {DOWN_RATIO_MAX:g}× floor and < {DOWN_MAX:g} s",
            verdict(down_ratio <= DOWN_RATIO_MAX and med[DOWN] < DOWN_MAX),
            down_ratio,
        ),
        Row(
            engine,
            "llama-telemetry --help",
            fmt_seconds(med[HELP]),
            f"≤ {HELP_MAX:g} s",
            verdict(med[HELP] <= HELP_MAX),
            med[HELP],
        ),
        Row(
            engine,
            "status",
            fmt_seconds(med[STATUS]),
            f"≤ {STATUS_MAX:g} s",
            verdict(med[STATUS] <= STATUS_MAX),
            med[STATUS],
        ),
    ]
    if samples.get(INPROC_UP):
        inproc_up, inproc_down = ratios["up_vs_inprocess_floor"], ratios["down_vs_inprocess_floor"]
        rows += [
            Row(
                engine,
                "in-process floor: create+start → healthy",
                fmt_seconds(med[INPROC_UP]),
                "(reported)",
                verdict(None),
                med[INPROC_UP],
            ),
            Row(
                engine,
                "up against the in-process floor",
                f"{fmt_ratio(inproc_up)} floor",
                "(reported)",
                verdict(None),
                inproc_up,
            ),
            Row(
                engine,
                "in-process floor: stop+remove",
                fmt_seconds(med[INPROC_DOWN]),
                "(reported)",
                verdict(None),
                med[INPROC_DOWN],
            ),
            Row(
                engine,
                "down against the in-process floor",
                f"{fmt_ratio(inproc_down)} floor",
                "(reported)",
                verdict(None),
                inproc_down,
            ),
        ]
    if samples.get(STARTUP):
        rows.append(
            Row(
                engine,
                "CLI start-up (interpreter + imports of up)",
                fmt_seconds(med[STARTUP]),
                "(reported)",
                verdict(None),
                med[STARTUP],
            )
        )
        if samples.get(INPROC_UP):
            net = median(
                paired_ratios([u - t for u, t in zip(samples[UP], samples[STARTUP], strict=True)], samples[INPROC_UP])
            )
            rows.append(
                Row(
                    engine,
                    "up less start-up, against the in-process floor",
                    f"{fmt_ratio(net)} floor",
                    "(reported)",
                    verdict(None),
                    net,
                )
            )
    if peaks:
        shown = [key for key in (UP, STATUS, HELP) if key in peaks]
        if shown:
            rows.append(
                Row(
                    engine,
                    "peak RSS: " + " / ".join("--help" if k == HELP else k for k in shown),
                    " / ".join(f"{peaks[k] / 1024:.0f}" for k in shown) + " MiB",
                    "(reported)",
                    verdict(None),
                )
            )
    return rows


def format_table(rows: Sequence[Row]) -> str:
    header = ("engine", "metric (median)", "measured", "target", "result")
    cells = [header] + [(r.engine, r.metric, r.measured, r.target, r.result) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = []
    for index, cell in enumerate(cells):
        lines.append("  ".join(text.ljust(width) for text, width in zip(cell, widths, strict=False)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def missed(rows: Sequence[Row]) -> list[Row]:
    return [r for r in rows if r.result == "FAIL"]


# ------------------------------------------------------------------------------------ environment


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine_info() -> dict:
    info = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "loadavg": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    try:
        cpu = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(
            (line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("model name")), None
        )
        mem = Path("/proc/meminfo").read_text().splitlines()[0]
        info["memory_kib"] = int(mem.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return info


def byte_compile_product() -> str:
    """Byte-compile the product's modules, as `pip install` does for the wheel; returns the package directory."""
    import compileall

    import telemetry_stack

    package = Path(telemetry_stack.__file__).resolve().parent
    if not compileall.compile_dir(str(package), quiet=1):
        raise BenchError(f"could not byte-compile {package}")
    return str(package)


def find_cli() -> str:
    beside = Path(sys.executable).parent / "llama-telemetry"
    if beside.is_file():
        return str(beside)
    found = shutil.which("llama-telemetry")
    if not found:
        raise BenchError("The llama-telemetry command is not installed (pip install -e . in this environment).")
    return found


@dataclass
class CliResult:
    wall: float
    rss_kib: int
    code: int
    stdout: str
    stderr: str


# A child's ru_maxrss also counts the memory of the process it was forked from (Linux records the old
# address space's high-water mark at exec), so the bench's own ~100 MiB would hide the CLI's. The CLI is
# therefore started by a small parent that reports the CLI's peak: GNU time, or else this Python shim.
_RSS_SHIM = """
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(128 - code if code < 0 else code)
"""
GNU_TIME = "/usr/bin/time"


def rss_method() -> str:
    if os.access(GNU_TIME, os.X_OK):
        return f"{GNU_TIME} -f %M (the CLI process's maximum resident set size, as `time -v` reports it)"
    return "wait4() ru_maxrss of the CLI process, reported by a small Python parent (no /usr/bin/time here)"


def run_cli(argv: Sequence[str], env: Mapping[str, str], cwd: str, timeout: float = CLI_TIMEOUT) -> CliResult:
    """Run the CLI once: wall time from spawn to exit, and the CLI process's peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as rss:
        if os.access(GNU_TIME, os.X_OK):
            wrapped = [GNU_TIME, "-q", "-f", "%M", "-o", rss.name, *argv]
        else:
            wrapped = [sys.executable, "-S", "-c", _RSS_SHIM, rss.name, *argv]
        started = time.perf_counter()
        # Its own process group, so an interrupted bench can hand the CLI a Ctrl-C and nothing else.
        proc = subprocess.Popen(wrapped, stdout=out, stderr=err, env=dict(env), cwd=cwd, start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            code = proc.wait()
            wall = time.perf_counter() - started
        except BaseException:
            # Interrupted: stop the CLI as Ctrl-C would (it says what it left), then make sure it is gone.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            raise
        finally:
            timer.cancel()
        out.seek(0)
        err.seek(0)
        text = rss.read().strip().splitlines()
        peak = int(text[-1]) if text and text[-1].isdigit() else 0
        result = CliResult(wall, peak, code, out.read().decode(errors="replace"), err.read().decode(errors="replace"))
    if code in (-signal.SIGKILL, 128 + signal.SIGKILL):
        raise BenchError(f"`llama-telemetry {argv[1] if len(argv) > 1 else ''}` did not finish within {timeout:g} s.")
    return result


# ------------------------------------------------------------------------------------ the floor


class Floor:
    """The same four containers as `up`, straight through the engine: no detection, planning or checks.
    scripts/bench_floor.py does the work, run inside this process (up, down) or as its own (spawned_*)."""

    def __init__(self, engine, candidate, settings, env: Mapping[str, str], cwd: str):
        from telemetry_stack.health import http_url, reachable_host
        from telemetry_stack.stack import build_stack

        self.engine = engine
        self.stack = build_stack(settings)
        host = reachable_host(settings.bind, engine.url)
        # What `up` waits for: health, then readiness (Grafana's provisioned datasources and dashboards).
        self.urls = {
            s.name: s.readiness_urls(http_url(host, settings.ports[s.health.port_key])) for s in self.stack.services
        }
        self.candidate = candidate  # where the engine answered, for the spawned floor
        self.env, self.cwd = dict(env), cwd  # the spawned floor runs where and as the CLI runs
        self.cancel = threading.Event()  # set on Ctrl-C: the in-process floor's pollers stop at once
        self.ids: list[str] = []  # containers of the current cycle

    def prepare(self) -> None:
        """Leftovers from an interrupted earlier run go; the data volumes exist, as after a first `up`."""
        self.cleanup(volumes=False)
        for name in self.stack.volumes:
            if self.engine.volume(name) is None:
                self.engine.create_volume(name, self.stack.labels)

    def _up_job(self) -> dict:
        services = [
            (s.container, s.archive() if s.files else b"", self.urls[s.name], s.readiness_headers)
            for s in self.stack.services
        ]
        return {
            "action": "up",
            "candidate": self.candidate,
            "network": self.stack.network,
            "labels": self.stack.labels,
            "services": services,
            "timeout": HEALTH_TIMEOUT,
        }

    def _down_job(self) -> dict:
        from telemetry_stack.deploy import STOP_TIMEOUT

        ids, self.ids = list(self.ids), []
        return {
            "action": "down",
            "candidate": self.candidate,
            "network": self.stack.network,
            "containers": ids,
            "stop_timeout": STOP_TIMEOUT,
        }

    def up(self) -> float:
        """In this process: seconds from the first engine call until every health URL has answered."""
        import bench_floor

        job, self.ids = self._up_job(), []
        self.cancel.clear()
        started = time.perf_counter()
        bench_floor.up(self.engine, job, self.cancel, self.ids.append)
        return time.perf_counter() - started

    def down(self) -> float:
        """In this process: seconds to stop and remove the containers (in parallel) and the network."""
        import bench_floor

        job = self._down_job()
        started = time.perf_counter()
        bench_floor.down(self.engine, job, self.cancel)
        return time.perf_counter() - started

    def _spawn(self, job: dict) -> float:
        """Run scripts/bench_floor.py with a job; seconds from spawn to exit."""
        import pickle

        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(FLOOR_SCRIPT)],
            input=pickle.dumps(job),
            capture_output=True,
            timeout=CLI_TIMEOUT,
            env=self.env,
            cwd=self.cwd,
        )
        elapsed = time.perf_counter() - started
        if job["action"] == "up":
            self.ids = proc.stdout.decode().split()  # for spawned_down(); after a failure cleanup() finds them by label
        if proc.returncode != 0:
            raise BenchError(
                f"{FLOOR_SCRIPT.name} {job['action']} exited {proc.returncode}: {proc.stderr.decode().strip()[-2000:]}"
            )
        return elapsed

    def spawned_up(self) -> float:
        return self._spawn(self._up_job())

    def spawned_down(self) -> float:
        return self._spawn(self._down_job())

    def cleanup(self, volumes: bool) -> None:
        from telemetry_stack.stack import project_labels

        engine = self.engine
        for info in engine.containers(project_labels(self.stack.project)):
            engine.remove_container(info.id)
        if engine.network(self.stack.network) is not None:
            engine.remove_network(self.stack.network)
        if volumes:
            for name in self.stack.volumes:
                engine.remove_volume(name)


def same_containers(floor_stack, product_stack) -> None:
    """The floor must start exactly what `up` starts, apart from names, labels and the network."""
    for floor, product in zip(floor_stack.services, product_stack.services, strict=True):
        a, b = floor.container, product.container
        same = (a.image, a.user, a.command, dict(a.environment), a.ports, tuple(a.volumes.values()), a.aliases) == (
            b.image,
            b.user,
            b.command,
            dict(b.environment),
            b.ports,
            tuple(b.volumes.values()),
            b.aliases,
        )
        if not same or dict(floor.files) != dict(product.files):
            raise BenchError(f"internal: the floor's {floor.name} differs from what up would create")


# ------------------------------------------------------------------------------------ one engine


@dataclass
class EngineResult:
    engine: str
    version: str = ""
    url: str = ""
    rootless: bool | None = None
    images: dict = field(default_factory=dict)
    ports: dict = field(default_factory=dict)
    samples: dict = field(default_factory=lambda: {key: [] for key in SAMPLE_KEYS})
    rss_kib: dict = field(default_factory=lambda: {key: [] for key in CLI_KEYS})
    noop_changes: list = field(default_factory=list)
    error: str | None = None


def suite_images(engine_name: str) -> dict[str, str]:
    """service -> ref of the suite's test images on the engine, built (or found) by `python -m tests.engine.images
    --json ENGINE`; its progress lines are logged as they come."""
    log(
        f"{engine_name}: building/checking the test images (the real Jaeger, collector and Prometheus, the Grafana stand-in) ..."
    )
    argv = [sys.executable, "-m", IMAGE_BUILDER, "--json", engine_name]
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        try:
            for line in proc.stderr:
                lines.append(line.rstrip("\n"))
                log(lines[-1])
            code = proc.wait()
        except BaseException:  # Ctrl-C or SIGTERM: the build stops with the bench, as after its own Ctrl-C
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raise
        finally:
            proc.stderr.close()
        out.seek(0)
        text = out.read()
    if code != 0:
        reason = next((line for line in reversed(lines) if line.strip()), "no message")
        raise BenchError(f"{engine_name}: `python -m {IMAGE_BUILDER}` exited {code}: {reason}")
    try:
        return dict(json.loads(text)[engine_name])
    except (ValueError, KeyError, TypeError) as exc:
        raise BenchError(
            f"{engine_name}: `python -m {IMAGE_BUILDER}` printed no image refs: {text.strip()[-500:]!r}"
        ) from exc


def bench_engine(engine_name: str, runs: int, warmup: int, image_mode: str, cli: str, result: EngineResult) -> None:
    from telemetry_stack.engines.detect import connect_to, detect
    from telemetry_stack.hostports import auto_ports
    from telemetry_stack.settings import DEFAULT_IMAGES, Settings
    from telemetry_stack.stack import build_stack

    images = suite_images(engine_name) if image_mode == "test" else dict(DEFAULT_IMAGES)
    ports = auto_ports(Settings(), {})  # a free host port for every key
    result.images, result.ports = images, ports

    candidate = detect(engine_name)
    engine = connect_to(candidate)
    workdir = tempfile.mkdtemp(prefix="llama-telemetry-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMA_TELEMETRY_")}
    env["XDG_CONFIG_HOME"] = workdir  # no user config file changes what is measured; cwd has none either
    common = ["--container", engine_name, "--project", PROJECT]
    up_args = ["up", *common, "--pull", "never", "--timeout", f"{HEALTH_TIMEOUT:g}", "--json"]
    up_args += [arg for svc, ref in images.items() for arg in ("--image", f"{svc}={ref}")]
    up_args += [arg for key, port in ports.items() for arg in ("--port", f"{key}={port}")]
    backend = "docker_engine" if engine_name == "docker" else "podman_engine"
    startup_imports = (
        f"import telemetry_stack.cli, telemetry_stack.deploy, telemetry_stack.output, telemetry_stack.engines.{backend}"
    )
    floor = None
    try:
        result.version, result.url = engine.version(), engine.url
        result.rootless = engine.rootless()
        missing = [ref for ref in images.values() if not engine.image_present(ref)]
        if missing:
            raise BenchError(
                f"{engine_name}: images not present locally: {', '.join(missing)} (the benchmark never pulls)."
            )

        floor_settings = Settings(engine=engine_name, project=FLOOR_PROJECT, images=images, ports=ports, pull="never")
        floor = Floor(engine, candidate, floor_settings, env, workdir)
        same_containers(
            floor.stack, build_stack(Settings(engine=engine_name, project=PROJECT, images=images, ports=ports))
        )
        floor.prepare()
        cli_run(cli, ["down", *common, "--volumes"], env, workdir, "cleanup down")

        def one_run(record: bool) -> None:
            inproc_up = floor.up()
            inproc_down = floor.down()
            floor_up = floor.spawned_up()
            floor_down = floor.spawned_down()
            up = cli_run(cli, up_args, env, workdir, "up")
            noop = cli_run(cli, up_args, env, workdir, "no-op up")
            status = cli_run(cli, ["status", *common, "--json"], env, workdir, "status")
            down = cli_run(cli, ["down", *common, "--json"], env, workdir, "down")
            helped = cli_run(cli, ["--help"], env, workdir, "--help")
            started = time.monotonic()
            subprocess.run([sys.executable, "-c", startup_imports], env=env, cwd=workdir, check=True)
            startup = time.monotonic() - started
            if not record:
                return
            changed = [s["name"] for s in json.loads(noop.stdout)["services"] if s.get("action") != "unchanged"]
            result.noop_changes.append(changed)
            for key, value in (
                (FLOOR_UP, floor_up),
                (FLOOR_DOWN, floor_down),
                (INPROC_UP, inproc_up),
                (INPROC_DOWN, inproc_down),
                (STARTUP, startup),
            ):
                result.samples[key].append(round(value, 4))
            for key, cli_result in ((UP, up), (NOOP, noop), (STATUS, status), (DOWN, down), (HELP, helped)):
                result.samples[key].append(round(cli_result.wall, 4))
                result.rss_kib[key].append(cli_result.rss_kib)

        for index in range(warmup):
            log(f"{engine_name}: warm-up {index + 1}/{warmup}")
            one_run(record=False)
        for index in range(runs):
            one_run(record=True)
            s = result.samples
            log(
                f"{engine_name}: run {index + 1}/{runs}: floor {s[FLOOR_UP][-1]:.3f} s (in-process {s[INPROC_UP][-1]:.3f} s), up {s[UP][-1]:.3f} s, "
                f"no-op {s[NOOP][-1]:.3f} s, status {s[STATUS][-1]:.3f} s, floor stop+rm {s[FLOOR_DOWN][-1]:.3f} s, "
                f"down {s[DOWN][-1]:.3f} s, --help {s[HELP][-1]:.3f} s"
            )
    finally:
        log(f"{engine_name}: cleaning up (project {PROJECT!r} and the floor)")
        problems = []
        try:
            cli_run(cli, ["down", *common, "--volumes"], env, workdir, "cleanup down")
        except BaseException as exc:  # keep cleaning up: the floor's resources still have to go
            problems.append(f"down --volumes: {exc}")
        if floor is not None:
            try:
                floor.cleanup(volumes=True)
            except Exception as exc:
                problems.append(f"floor cleanup: {exc}")
        engine.close()
        shutil.rmtree(workdir, ignore_errors=True)
        if problems:
            log(f"{engine_name}: cleanup incomplete: {'; '.join(problems)}")


def cli_run(cli: str, args: Sequence[str], env: Mapping[str, str], cwd: str, what: str) -> CliResult:
    result = run_cli([cli, *args], env, cwd)
    if result.code != 0:
        raise BenchError(f"`llama-telemetry {what}` exited {result.code}: {result.stderr.strip()[-2000:]}")
    return result


# ------------------------------------------------------------------------------------ main


def available_engines() -> list[str]:
    from telemetry_stack.engines.detect import detect
    from telemetry_stack.errors import EngineUnavailable

    found = []
    for name in ENGINES:
        try:
            detect(name)
            found.append(name)
        except EngineUnavailable as exc:
            log(f"{name}: not running here, skipped ({exc.message})")
    return found


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--engines", default="", help="comma-separated: docker,podman (default: every engine that answers)"
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="measured runs per engine; medians are reported (default 5)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured cycles before the runs (default 1)")
    parser.add_argument(
        "--json-out",
        default="bench-results.json",
        metavar="FILE",
        help="where to write the results (default bench-results.json)",
    )
    parser.add_argument(
        "--images",
        choices=("test", "default"),
        default="test",
        help="the suite's test images (default: the real programs built from their Go modules, the Grafana stand-in) or the pinned release images",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")
    args.engine_list = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in args.engine_list if e not in ENGINES]
    if unknown:
        parser.error(f"unknown engine {unknown[0]!r}; use docker and/or podman")
    return args


def _terminate(signum, frame):  # SIGTERM: clean up exactly as after Ctrl-C
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    import bench_floor  # beside this file

    cli = find_cli()
    package = byte_compile_product()
    engines = args.engine_list or available_engines()
    if not engines:
        log("no engine answered: nothing to measure")
        return 1
    document = {
        "tool": "scripts/bench.py",
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "cli": cli,
        "runs": args.runs,
        "warmup": args.warmup,
        "images": args.images,
        "floor_poll_interval_s": bench_floor.POLL_INTERVAL,
        "floor": f"its own process ({FLOOR_SCRIPT.name}), timed from spawn to exit like the CLI; also measured in-process",
        "byte_compiled": package,
        "rss_method": rss_method(),
        "targets": {
            "up_vs_floor_max": UP_RATIO_MAX,
            "noop_up_max_s": NOOP_MAX,
            "down_vs_floor_max": DOWN_RATIO_MAX,
            "down_max_s": DOWN_MAX,
            "help_max_s": HELP_MAX,
            "status_max_s": STATUS_MAX,
        },
        "engines": {},
    }
    rows: list[Row] = []
    failed = False
    interrupted = False
    for name in engines:
        result = EngineResult(name)
        try:
            bench_engine(name, args.runs, args.warmup, args.images, cli, result)
        except KeyboardInterrupt:
            result.error, interrupted = "interrupted", True
        except Exception as exc:  # one engine failing must not hide the other's numbers
            result.error = f"{type(exc).__name__}: {exc}"
            log(f"{name}: ERROR {result.error}")
        entry = asdict(result)
        if result.error:
            failed = True
        elif result.samples[UP]:
            unchanged = all(not changed for changed in result.noop_changes)
            engine_rows = evaluate(name, result.samples, result.rss_kib, unchanged)
            rows += engine_rows
            entry.update(summarize(result.samples, result.rss_kib))
            entry["rows"] = [asdict(r) for r in engine_rows]
        document["engines"][name] = entry
        if interrupted:
            break
    document["machine"]["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    Path(args.json_out).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")

    if rows:
        print(format_table(rows))
        print(f"\nmedians of {args.runs} runs; ratios are medians of per-run ratios against the floor of the same run;")
        print(
            f"the floor runs as its own process ({FLOOR_SCRIPT.name}), timed like the CLI; the in-process floor is reported beside it;"
        )
        print(f"peak RSS: {rss_method()}.  Raw samples: {args.json_out}")
        misses = missed(rows)
        if misses:
            print(
                f"\nMISSED TARGETS ({len(misses)}): "
                + "; ".join(f"{r.engine} {r.metric}: {r.measured} (target {r.target})" for r in misses)
            )
        else:
            print("\nAll targets met.")
    for name, entry in document["engines"].items():
        if entry["error"]:
            print(f"{name}: ERROR: {entry['error']}", file=sys.stderr)
    if interrupted:
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
