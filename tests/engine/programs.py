"""Build the real Jaeger, OpenTelemetry Collector and Prometheus from their Go modules, at the pinned releases,
and the Loki stand-in from its own source.

No registry is reachable from the test machines, but the Go module proxy is: each program is built from
its own module at the version `telemetry_stack.services` pins (the collector with the OpenTelemetry Collector
Builder and exactly the components our rendered configs use), then packed into an image by
`tests.engine.images`. Loki (AGPL) is not built: tests/engine/image-files/loki/ is a small Go program of
ours that behaves like it, built at the pinned tag's name. Builds are cached per recipe (for the stand-in,
a hash of its source files) under $LLAMA_TELEMETRY_TEST_CACHE (default ~/.cache/llama-telemetry-tests): a
warm run builds nothing.

    python -m tests.engine.programs          # build (or find) all four, print where they are
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from telemetry_stack.services import IMAGES

GO_BUILD_ENV = {"CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false -trimpath"}
LDFLAGS = "-s -w"  # no symbol tables: smaller images; the build info (`go version -m`) stays

# --- the collector ---------------------------------------------------------------------------------
BUILDER = "go.opentelemetry.io/collector/cmd/builder"
CORE = "go.opentelemetry.io/collector"
CONTRIB = "github.com/open-telemetry/opentelemetry-collector-contrib"
# Component type (as the rendered config names it, before any "/name") -> Go module, per section.
# tests/engine/test_real_programs.py proves this is exactly what every rendered config variant uses.
COLLECTOR_COMPONENTS: Mapping[str, Mapping[str, str]] = {
    "receivers": {"otlp": f"{CORE}/receiver/otlpreceiver"},
    "processors": {
        "batch": f"{CORE}/processor/batchprocessor",
        "memory_limiter": f"{CORE}/processor/memorylimiterprocessor",
        "transform": f"{CONTRIB}/processor/transformprocessor",
    },
    "exporters": {
        "otlp_grpc": f"{CORE}/exporter/otlpexporter",
        "otlp_http": f"{CORE}/exporter/otlphttpexporter",  # to Loki, with --logs
        "prometheus": f"{CONTRIB}/exporter/prometheusexporter",
    },
    "extensions": {"health_check": f"{CONTRIB}/extension/healthcheckextension"},
}

JAEGER_MODULE = "github.com/jaegertracing/jaeger"
# Jaeger v2's module has no /v2 path: a v2 release resolves through the v1 tag on the same commit.
JAEGER_TWIN_TAGS = {"2.13.0": "v1.76.0"}
PROMETHEUS_MODULE = "github.com/prometheus/prometheus"

# The Loki stand-in: its Go module (the program and its go.mod/go.sum), built with the pinned tag as its version.
LOKI_STAND_IN = Path(__file__).resolve().parent / "image-files" / "loki"
STAND_IN_SOURCE_SUFFIXES = (".go", "go.mod", "go.sum")


def collector_module_version(tag: str) -> str:
    return f"v{tag}"


def jaeger_module_version(tag: str) -> str:
    if tag not in JAEGER_TWIN_TAGS:
        raise RuntimeError(
            f"jaeger {tag} has no v1 twin tag, so no Go module version: pin one of {sorted(JAEGER_TWIN_TAGS)}"
        )
    return JAEGER_TWIN_TAGS[tag]


def prometheus_module_version(tag: str) -> str:
    """Prometheus release v3.X.Y is Go module version v0.3XX.Y (the same commit)."""
    major, minor, patch = (int(part) for part in tag.lstrip("v").split("."))
    return f"v0.{major * 100 + minor}.{patch}"


def release_of(service: str, build_info: str) -> str:
    """The release a built binary is, read from its Go build info (`go version -m`), in the image tag's spelling;
    for the Loki stand-in, from what its `-version` prints (see `release_info`)."""
    if service == "loki":
        printed = re.match(r"loki, version (\S+)", build_info)
        return printed[1] if printed else "(no version)"
    # The module the program belongs to is its "mod" line; every other module a "dep" line.
    deps = dict(re.findall(r"^\s*(?:mod|dep)\s+(\S+)\s+(\S+)", build_info, re.MULTILINE))
    if service == "jaeger":
        version = deps[JAEGER_MODULE]
        twins = {v: tag for tag, v in JAEGER_TWIN_TAGS.items()}
        return twins.get(version, f"(module {version})")
    if service == "prometheus":
        minor = re.fullmatch(r"v0\.(\d+)\.(\d+)", deps[PROMETHEUS_MODULE])
        assert minor, deps[PROMETHEUS_MODULE]
        return f"v{int(minor[1]) // 100}.{int(minor[1]) % 100}.{minor[2]}"
    if service == "otel-collector":
        versions = {deps[module] for section in COLLECTOR_COMPONENTS.values() for module in section.values()}
        if len(versions) != 1:
            return f"(mixed releases {sorted(versions)})"
        return versions.pop().lstrip("v")
    raise ValueError(service)


# --- building --------------------------------------------------------------------------------------


def cache_root() -> Path:
    return Path(os.environ.get("LLAMA_TELEMETRY_TEST_CACHE") or Path.home() / ".cache" / "llama-telemetry-tests")


def go_command() -> str | None:
    return shutil.which("go") or ("/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else None)


def _go() -> str:
    go = go_command()
    if go is None:
        raise RuntimeError("Go is not installed: the engine tests build the real programs from their Go modules")
    return go


def _run(argv: list[str], cwd: Path, log: Path, extra_env: Mapping[str, str] | None = None) -> None:
    # The go command on PATH for the collector builder, which runs `go` itself.
    env = {
        **os.environ,
        **GO_BUILD_ENV,
        **(extra_env or {}),
        "PATH": f"{Path(_go()).parent}:{os.environ.get('PATH', '')}",
    }
    with log.open("ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        result = subprocess.run(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-25:]
        raise RuntimeError(
            f"`{' '.join(argv[:4])}` failed ({result.returncode}); last lines of {log}:\n" + "\n".join(tail)
        )


def _wrapper_build(version: str, binaries: Mapping[str, str], tags: str = "") -> Callable[[Path, Path], None]:
    """Build each package (binary name -> package) at the module version through a small wrapper module:
    `go install pkg@version` refuses modules whose go.mod has replace or exclude lines (Prometheus's has both)."""

    def build(work: Path, outdir: Path) -> None:
        go, log = _go(), work / "build.log"
        _run([go, "mod", "init", "local/llama-telemetry-test-build"], work, log)
        _run([go, "get", "-tool", *(f"{package}@{version}" for package in binaries.values())], work, log)
        for name, package in binaries.items():
            _run([go, "build", f"-tags={tags}", f"-ldflags={LDFLAGS}", "-o", str(outdir / name), package], work, log)

    return build


def _collector_build(tag: str) -> Callable[[Path, Path], None]:
    version = collector_module_version(tag)

    def build(work: Path, outdir: Path) -> None:
        go, log = _go(), work / "build.log"
        _run([go, "install", f"{BUILDER}@{version}"], work, log, {"GOBIN": str(work / "bin")})
        (work / "builder.yaml").write_text(json.dumps(_collector_manifest(tag, work / "dist")))  # JSON is YAML
        _run([str(work / "bin" / "builder"), "--config", str(work / "builder.yaml")], work, log)
        shutil.copy2(work / "dist" / "otelcol-contrib", outdir / "otelcol-contrib")

    return build


def _collector_manifest(tag: str, output: Path) -> dict:
    version = collector_module_version(tag)
    manifest: dict = {
        "dist": {
            "name": "otelcol-contrib",
            "description": f"llama-telemetry test build of the OpenTelemetry Collector contrib components {tag}",
            "version": tag,
            "output_path": str(output),
            "ldflags": LDFLAGS,
        }
    }
    for section, components in COLLECTOR_COMPONENTS.items():
        manifest[section] = [{"gomod": f"{module} {version}"} for module in components.values()]
    return manifest


def stand_in_sources(directory: Path) -> dict[str, str]:
    """The stand-in's source files (path below directory -> sha256 of the bytes): what its recipe hashes."""
    return {
        path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name.endswith(STAND_IN_SOURCE_SUFFIXES)
    }


def _stand_in_build(directory: Path, version: str, binary: str) -> Callable[[Path, Path], None]:
    """Build the Go module in directory (a copy of its sources) as one static binary named binary."""

    def build(work: Path, outdir: Path) -> None:
        go, log, source = _go(), work / "build.log", work / "src"
        for name in stand_in_sources(directory):
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(directory / name, source / name)
        ldflags = f"{LDFLAGS} -X main.version={version}"
        _run([go, "build", f"-ldflags={ldflags}", "-o", str(outdir / binary), "."], source, log)

    return build


@dataclass(frozen=True)
class GoProgram:
    service: str
    binaries: tuple[str, ...]  # what the build leaves in its directory; the first is the program
    recipe: Mapping[str, object]  # everything that decides the build: its hash names the cache entry
    build: Callable[[Path, Path], None]  # (work directory, output directory)
    kind: str = "real"  # or "stand-in": our own program in the real one's place

    @property
    def tag(self) -> str:
        return IMAGES[self.service].tag

    @property
    def directory(self) -> Path:
        digest = hashlib.sha256(json.dumps(self.recipe, sort_keys=True).encode()).hexdigest()[:12]
        return cache_root() / f"{self.service}-{self.tag}-{digest}"


def programs() -> dict[str, GoProgram]:
    jaeger = jaeger_module_version(IMAGES["jaeger"].tag)
    collector = IMAGES["otel-collector"].tag
    prometheus = prometheus_module_version(IMAGES["prometheus"].tag)
    common = {"go_env": GO_BUILD_ENV, "ldflags": LDFLAGS}
    jaeger_binaries = {"jaeger-linux": f"{JAEGER_MODULE}/cmd/jaeger"}
    # promtool too, as the real image ships it: the unit tests check every dashboard query with it.
    prometheus_binaries = {name: f"{PROMETHEUS_MODULE}/cmd/{name}" for name in ("prometheus", "promtool")}
    return {
        "jaeger": GoProgram(
            "jaeger",
            tuple(jaeger_binaries),
            {**common, "version": jaeger, "binaries": jaeger_binaries},
            _wrapper_build(jaeger, jaeger_binaries),
        ),
        "otel-collector": GoProgram(
            "otel-collector",
            ("otelcol-contrib",),
            {**common, "manifest": _collector_manifest(collector, Path("dist"))},
            _collector_build(collector),
        ),
        # remove_all_sd: none of the cloud service discoveries (a much shorter build); we scrape static targets.
        "prometheus": GoProgram(
            "prometheus",
            tuple(prometheus_binaries),
            {**common, "version": prometheus, "binaries": prometheus_binaries, "tags": "remove_all_sd"},
            _wrapper_build(prometheus, prometheus_binaries, "remove_all_sd"),
        ),
        "loki": GoProgram(
            "loki",
            ("loki",),
            {**common, "stand_in": "loki", "version": IMAGES["loki"].tag, "sources": stand_in_sources(LOKI_STAND_IN)},
            _stand_in_build(LOKI_STAND_IN, IMAGES["loki"].tag, "loki"),
            kind="stand-in",
        ),
    }


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock across processes (pytest-xdist workers, a bench beside the tests)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_built(service: str, say: Callable[[str], None] = lambda _: None) -> Path:
    """The cached binary of the service's program (real, or the stand-in), built first if this recipe was never built."""
    program = programs()[service]
    target = program.directory
    with file_lock(target.parent / f"{target.name}.lock"):
        if not target.is_dir():
            origin = "its Go modules" if program.kind == "real" else "the stand-in's source"
            say(f"building {service} {program.tag} from {origin} (cached in {target}) ...")
            started = time.monotonic()
            with tempfile.TemporaryDirectory(prefix=f"llama-telemetry-build-{service}-") as tmp:
                outdir = Path(tmp) / "out"
                outdir.mkdir()
                program.build(Path(tmp), outdir)
                missing = [name for name in program.binaries if not (outdir / name).is_file()]
                assert not missing, f"the {service} build left no {missing}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(outdir, target)  # whole, so a cache entry is complete or absent
            say(f"built {service} in {time.monotonic() - started:.0f} s")
    return target / program.binaries[0]


def tool_path(service: str, name: str) -> Path:
    """Another binary the service's build left beside its program (e.g. Prometheus's promtool)."""
    return ensure_built(service).parent / name


def build_info(binary: Path) -> str:
    return subprocess.run([_go(), "version", "-m", str(binary)], check=True, capture_output=True, text=True).stdout


def release_info(service: str, binary: Path) -> str:
    """What `release_of` reads: the Go build info of a real program, the `-version` output of a stand-in (its
    main module has no version of its own)."""
    if programs()[service].kind == "stand-in":
        return subprocess.run([str(binary), "-version"], check=True, capture_output=True, text=True).stdout
    return build_info(binary)


def build_all(say: Callable[[str], None] = lambda _: None) -> dict[str, Path]:
    """All at once: one build's module downloads overlap another's compiling (Go's caches are safe to share)."""
    with ThreadPoolExecutor(max_workers=len(programs())) as pool:
        futures = {name: pool.submit(ensure_built, name, say) for name in programs()}
        return {name: future.result() for name, future in futures.items()}


if __name__ == "__main__":
    for name, path in build_all(say=lambda line: print(line, file=sys.stderr, flush=True)).items():
        print(f"{name:15} {release_of(name, release_info(name, path)):10} {path}")
