"""The five images the engine tests run: the real Jaeger, OpenTelemetry Collector and Prometheus, and
stand-ins for Grafana and Loki, each carrying exactly the metadata of the real image it stands for.

No registry is reachable from the test machines, so nothing can be pulled. Jaeger, the collector and
Prometheus are built from their Go modules at the pinned releases (tests/engine/programs.py); Grafana
(AGPL, not buildable from modules) is a busybox stand-in (tests/engine/image-files/grafana/) that answers
the parts of the HTTP API the product uses and fails the way Grafana fails; Loki (AGPL too) is a static Go
program of ours (tests/engine/image-files/loki/, built by programs.py) that starts, ingests OTLP logs,
answers queries and fails the way Loki does, in a distroless-like image as the real one. This module assembles each
root filesystem, writes it as a tarball and imports it with `docker import` / `podman import`, with the
USER, ENTRYPOINT, CMD, ENV, EXPOSE, VOLUME and WORKDIR of the real image (telemetry_stack/services.py).
Tests may use the engine CLIs; the product never does.

Every file of our own in the images is a real file under tests/engine/image-files/ (base/ for the busybox
system the Jaeger, Prometheus and Grafana images share, then one directory per service); this module only
says where each goes, with which owner and mode, beside the programs, busybox and the host's CA bundle.
What is generated stays generated from its one home: /etc/passwd and /etc/group from the users below, the
import instructions (USER, ENTRYPOINT, ...) from the image records.

    from tests.engine.images import build_images
    refs = build_images("docker")      # {"jaeger": "localhost/llama-telemetry-test/jaeger:2.13.0", ...}

Images are imported again only when their content changes: each carries a label with the hash of its
root filesystem and import options (the files' bytes, paths, owners and modes, never where this checkout
keeps them). `python -m tests.engine.images docker podman` builds them by hand; with --json it prints
{engine: {service: ref}} for programs that use the images (scripts/bench.py runs it so, as a command).
The tarball is written with tarfile rather than from a directory tree, so file ownership (472, 65534,
...) does not need root on the build side.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from telemetry_stack.services import IMAGES, ImageRecord
from tests.engine.programs import ensure_built, file_lock

REPOSITORY = "localhost/llama-telemetry-test"
SERVICES = ("jaeger", "otel-collector", "prometheus", "grafana", "loki")
IMAGE_REFS = {service: f"{REPOSITORY}/{service}:{IMAGES[service].tag}" for service in SERVICES}
ENGINES = ("docker", "podman")

HASH_LABEL = "io.llama-telemetry-test.rootfs-hash"
BUSYBOX = Path("/bin/busybox")
# What goes into the images besides the programs and busybox: the base system's files, small default configs
# of our own at the paths where the real images ship theirs (`up` copies its own over them), and the Grafana
# stand-in's files.
IMAGE_FILES = Path(__file__).resolve().parent / "image-files"

# Fixed metadata makes the tarball (and so its hash) depend on content only.
_MTIME = 1_700_000_000

# service -> ref, per engine, for images already checked in this process.
_built: dict[str, dict[str, str]] = {}


# --------------------------------------------------------------------------
# Root filesystem assembly
# --------------------------------------------------------------------------


@dataclass
class _Entry:
    kind: bytes  # a tarfile type flag
    mode: int
    uid: int
    gid: int
    data: bytes = b""
    target: str = ""  # symlink target


@dataclass
class RootFS:
    """A root filesystem described in memory, written out as a tarball.

    Parent directories are added as root:root 0755 unless declared with
    :meth:`dir` (before or after their children).
    """

    entries: dict[str, _Entry] = field(default_factory=dict)

    def dir(self, path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
        self._parents(path)
        self.entries[_rel(path)] = _Entry(tarfile.DIRTYPE, mode, uid, gid)

    def file(self, path: str, data: bytes | str, mode: int = 0o644, uid: int = 0, gid: int = 0) -> None:
        if isinstance(data, str):
            data = data.encode()
        self._parents(path)
        self.entries[_rel(path)] = _Entry(tarfile.REGTYPE, mode, uid, gid, data=data)

    def script(self, path: str, text: str) -> None:
        self.file(path, text, mode=0o755)

    def copy(self, path: str, source: Path, mode: int | None = None) -> None:
        """Copy a host file (following symlinks) as a regular root-owned file."""
        real = source.resolve()
        self.file(path, real.read_bytes(), mode=mode if mode is not None else real.stat().st_mode & 0o7777)

    def symlink(self, path: str, target: str) -> None:
        self._parents(path)
        self.entries[_rel(path)] = _Entry(tarfile.SYMTYPE, 0o777, 0, 0, target=target)

    def _parents(self, path: str) -> None:
        for parent in PurePosixPath(_rel(path)).parents:
            key = str(parent)
            if key != "." and key not in self.entries:
                self.entries[key] = _Entry(tarfile.DIRTYPE, 0o755, 0, 0)

    def content_hash(self, changes: list[str]) -> str:
        """A hash of everything the tarball and the import options hold (without writing the tarball)."""
        digest = hashlib.sha256()
        for name in sorted(self.entries):
            entry = self.entries[name]
            meta = (
                name,
                entry.kind.decode(),
                entry.mode,
                entry.uid,
                entry.gid,
                entry.target,
                hashlib.sha256(entry.data).hexdigest(),
            )
            digest.update(json.dumps(meta).encode())
        digest.update("\n".join(changes).encode())
        return digest.hexdigest()[:32]

    def write_tarball(self, out: BinaryIO) -> None:
        with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
            # A parent's path is a prefix of its children's, so sorting puts it first.
            for name in sorted(self.entries):
                entry = self.entries[name]
                info = tarfile.TarInfo(name)
                info.type = entry.kind
                info.mode = entry.mode
                info.uid, info.gid = entry.uid, entry.gid
                info.mtime = _MTIME
                if entry.kind == tarfile.SYMTYPE:
                    info.linkname = entry.target
                    tar.addfile(info)
                elif entry.kind == tarfile.REGTYPE:
                    info.size = len(entry.data)
                    tar.addfile(info, io.BytesIO(entry.data))
                else:
                    tar.addfile(info)


def _rel(path: str) -> str:
    return str(PurePosixPath(path.lstrip("/")))


def _add_image_file(fs: RootFS, path: str, source: str, mode: int = 0o644, uid: int = 0, gid: int = 0) -> None:
    """Put tests/engine/image-files/<source> into the image at path (its bytes; owner and mode as given)."""
    fs.file(path, (IMAGE_FILES / source).read_bytes(), mode=mode, uid=uid, gid=gid)


@dataclass(frozen=True)
class _User:
    name: str
    uid: int
    gid: int
    group: str
    home: str


_NOBODY = _User("nobody", 65534, 65534, "nogroup", "/nonexistent")


def _accounts(fs: RootFS, user: _User) -> None:
    """/etc/passwd and /etc/group: root, nobody and the image's own user."""
    users = {_User("root", 0, 0, "root", "/root"), _NOBODY, user}
    groups = {(u.group, u.gid) for u in users}
    fs.file(
        "etc/passwd",
        "".join(f"{u.name}:x:{u.uid}:{u.gid}::{u.home}:/bin/sh\n" for u in sorted(users, key=lambda u: u.uid)),
    )
    fs.file("etc/group", "".join(f"{name}:x:{gid}:\n" for name, gid in sorted(groups, key=lambda g: g[1])))


def _base(user: _User = _NOBODY) -> RootFS:
    """A busybox system (as the alpine and busybox bases of the real images): a shell, users, /tmp."""
    if not BUSYBOX.is_file():
        raise RuntimeError(f"{BUSYBOX} is missing: install the Debian package busybox-static")
    fs = RootFS()
    for name in ("dev", "proc", "sys", "etc", "var", "usr/bin", "usr/sbin", "sbin"):
        fs.dir(name)
    fs.dir("root", mode=0o700)
    fs.dir("tmp", mode=0o1777)
    fs.dir("var/tmp", mode=0o1777)

    fs.copy("bin/busybox", BUSYBOX, mode=0o755)
    listing = subprocess.run([str(BUSYBOX), "--list"], check=True, capture_output=True, text=True).stdout
    for applet in listing.split():
        if applet != "busybox":
            fs.symlink(f"bin/{applet}", "busybox")

    _accounts(fs, user)
    _add_image_file(fs, "etc/nsswitch.conf", "base/nsswitch.conf")
    if user.home != "/nonexistent":
        fs.dir(user.home, mode=0o755, uid=user.uid, gid=user.gid)
    return fs


# --------------------------------------------------------------------------
# The images: the three real programs, and the Grafana and Loki stand-ins
# --------------------------------------------------------------------------

KIND_LABEL = "io.llama-telemetry-test.program"  # "real" (built from its Go modules) or "stand-in"
BUILD_LABEL = "io.llama-telemetry-test.binary-sha256"  # the program's binary (real or stand-in), as built and cached
HOST_CA_CERTIFICATES = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass
class _Image:
    rootfs: RootFS
    kind: str
    binary: Path | None = None


def _jaeger(binary: Path) -> _Image:
    # jaegertracing/jaeger: alpine (a shell and busybox tools) with the binary under /cmd/jaeger.
    fs = _base()
    fs.copy("cmd/jaeger/jaeger-linux", binary, mode=0o755)
    _add_image_file(fs, "cmd/jaeger/sampling-strategies.json", "jaeger/sampling-strategies.json")
    return _Image(fs, "real", binary)


def _otel_collector(binary: Path, config_dir_mode: int = 0o755) -> _Image:
    # otel/opentelemetry-collector-contrib: FROM scratch, so no shell, no users, no /tmp.
    fs = RootFS()
    fs.copy("otelcol-contrib", binary, mode=0o755)
    fs.dir("etc/otelcol-contrib", mode=config_dir_mode)
    _add_image_file(fs, "etc/otelcol-contrib/config.yaml", "otel-collector/config.yaml")
    if HOST_CA_CERTIFICATES.is_file():
        fs.copy("etc/ssl/certs/ca-certificates.crt", HOST_CA_CERTIFICATES, mode=0o644)
    return _Image(fs, "real", binary)


def _prometheus(binary: Path) -> _Image:
    # prom/prometheus: busybox; /etc/prometheus and /prometheus belong to nobody, /prometheus group-writable.
    fs = _base()
    fs.copy("bin/prometheus", binary, mode=0o755)
    fs.dir("etc/prometheus", uid=65534, gid=65534)
    _add_image_file(fs, "etc/prometheus/prometheus.yml", "prometheus/prometheus.yml", uid=65534, gid=65534)
    fs.dir("prometheus", mode=0o775, uid=65534, gid=65534)
    return _Image(fs, "real", binary)


def _grafana() -> _Image:
    # As in grafana/grafana: user 472 whose primary group is root (0).
    fs = _base(_User("grafana", 472, 0, "root", "/usr/share/grafana"))
    fs.dir("var/lib/grafana", mode=0o775, uid=472, gid=0)
    fs.dir("var/log/grafana", mode=0o775, uid=472, gid=0)
    for sub in ("", "/datasources", "/dashboards", "/notifiers", "/plugins", "/access-control", "/alerting"):
        fs.dir(f"etc/grafana/provisioning{sub}", mode=0o775, uid=472, gid=0)
    # /etc/grafana/dashboards is deliberately absent, as in the real image.
    _add_image_file(fs, "etc/grafana/grafana.ini", "grafana/grafana.ini")
    fs.dir("usr/share/grafana/bin")
    _add_image_file(fs, "run.sh", "grafana/run.sh", mode=0o755)
    _add_image_file(fs, "lib/stand-in/grafana-api.sh", "grafana/grafana-api.sh", mode=0o755)
    return _Image(fs, "stand-in")


_LOKI = _User("loki", 10001, 10001, "loki", "/home/loki")


def _loki(binary: Path) -> _Image:
    # grafana/loki (cmd/loki/Dockerfile @ v3.7.6): FROM gcr.io/distroless/static:nonroot, so no shell; the binary
    # at /usr/bin/loki; /etc/passwd and /etc/group from a Debian stage that added loki (10001:10001); /etc/loki
    # (with local-config.yaml, the CMD's file) and /loki, /loki/rules, /loki/rules-temp owned by loki.
    fs = RootFS()
    fs.copy("usr/bin/loki", binary, mode=0o755)
    _accounts(fs, _LOKI)
    _add_image_file(fs, "etc/nsswitch.conf", "base/nsswitch.conf")
    fs.dir("tmp", mode=0o1777)
    if HOST_CA_CERTIFICATES.is_file():
        fs.copy("etc/ssl/certs/ca-certificates.crt", HOST_CA_CERTIFICATES, mode=0o644)
    owner = {"uid": _LOKI.uid, "gid": _LOKI.gid}
    fs.dir("etc/loki", **owner)
    _add_image_file(fs, "etc/loki/local-config.yaml", "loki/local-config.yaml", **owner)
    for path in ("loki", "loki/rules", "loki/rules-temp"):
        fs.dir(path, **owner)
    return _Image(fs, "stand-in", binary)


def image_changes(record: ImageRecord) -> list[str]:
    """The record as `import --change` instructions: exactly what the real image declares."""
    changes = [f"USER {record.user}", _instruction("ENTRYPOINT", record.entrypoint)]
    if record.cmd:
        changes.append(_instruction("CMD", record.cmd))
    changes += [f"ENV {key}={value}" for key, value in record.env.items()]
    changes += [f"EXPOSE {port}/tcp" for port in record.expose]  # podman import takes one port per EXPOSE
    if record.volumes:
        changes.append(_instruction("VOLUME", record.volumes))
    if record.workdir:
        changes.append(f"WORKDIR {record.workdir}")
    return changes


def _instruction(keyword: str, value: tuple[str, ...]) -> str:
    return f"{keyword} {json.dumps(list(value))}"


def _recipe(service: str, say) -> _Image:
    if service == "grafana":
        return _grafana()
    binary = ensure_built(service, say)
    return {"jaeger": _jaeger, "otel-collector": _otel_collector, "prometheus": _prometheus, "loki": _loki}[service](
        binary
    )


# --------------------------------------------------------------------------
# Importing into an engine
# --------------------------------------------------------------------------


def _run(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv[:3])} ...` failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def inspect_image(engine: str, ref: str) -> dict | None:
    """The engine's inspect document of an image, or None when it has no such image."""
    result = subprocess.run([engine, "image", "inspect", ref], capture_output=True, text=True)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout)[0]


def image_labels(details: dict) -> dict[str, str]:
    return (details.get("Config") or {}).get("Labels") or details.get("Labels") or {}


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_image(engine: str, ref: str, image: _Image, changes: list[str]) -> str:
    """Import image as ref unless the engine already has this exact content (its hash label says so)."""
    content_hash = image.rootfs.content_hash(changes)
    existing = inspect_image(engine, ref)
    if existing and image_labels(existing).get(HASH_LABEL) == content_hash:
        return ref

    labels = {HASH_LABEL: content_hash, KIND_LABEL: image.kind}
    if image.binary is not None:
        labels[BUILD_LABEL] = _file_sha256(image.binary)
    argv = [engine, "import"]
    for change in [*changes, *(f"LABEL {key}={value}" for key, value in labels.items())]:
        argv += ["--change", change]
    with tempfile.NamedTemporaryFile(prefix="llama-telemetry-rootfs-", suffix=".tar") as handle:
        image.rootfs.write_tarball(handle)
        handle.flush()
        _run([*argv, handle.name, ref])

    # The previous build is now untagged: drop it unless a container still uses it.
    if existing:
        subprocess.run([engine, "image", "rm", existing["Id"]], capture_output=True)
    return ref


def build_images(engine: str, say=lambda line: None) -> dict[str, str]:
    """Build (or reuse) the five test images on engine ("docker" or "podman"): the real Jaeger, collector
    and Prometheus (built from their Go modules first if not cached) and the Grafana and Loki stand-ins (Loki's
    built from its source first if not cached), each with its real image's metadata (telemetry_stack.services).

    Returns service -> image ref. Cheap after the first call: images whose content hash label matches
    are kept, and results are cached per process.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if engine in _built:
        return dict(_built[engine])
    if shutil.which(engine) is None:
        raise RuntimeError(f"the {engine} command is not installed")
    with file_lock(Path(tempfile.gettempdir()) / f"llama-telemetry-test-images-{engine}.lock"):
        refs = {
            service: ensure_image(engine, IMAGE_REFS[service], _recipe(service, say), image_changes(IMAGES[service]))
            for service in SERVICES
        }
    _built[engine] = refs
    return dict(refs)


def locked_collector_image(engine: str) -> str:
    """The real collector whose config directory its user cannot enter (mode 0700, root's)."""
    image = _otel_collector(ensure_built("otel-collector"), config_dir_mode=0o700)
    return ensure_image(
        engine, f"{REPOSITORY}/otel-collector:locked-config", image, image_changes(IMAGES["otel-collector"])
    )


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the test images on each engine. Progress goes to stderr; stdout gets a listing, or
    with --json {engine: {service: ref}} (what scripts/bench.py reads)."""
    parser = argparse.ArgumentParser(prog="python -m tests.engine.images", description=main.__doc__)
    parser.add_argument("engines", nargs="*", metavar="ENGINE", help=f"{' and/or '.join(ENGINES)} (default: both)")
    parser.add_argument("--json", action="store_true", help="print {engine: {service: image ref}} as JSON on stdout")
    args = parser.parse_args(argv)
    unknown = [name for name in args.engines if name not in ENGINES]
    if unknown:
        parser.error(f"unknown engine {unknown[0]!r}; expected one of {', '.join(ENGINES)}")
    refs = {}
    for name in args.engines or list(ENGINES):
        started = time.monotonic()
        refs[name] = build_images(name, say=lambda line: print(line, file=sys.stderr, flush=True))
        if not args.json:
            print(f"{name}: {len(refs[name])} images in {time.monotonic() - started:.1f}s")
            for svc, image_ref in refs[name].items():
                print(f"  {svc:15} {image_ref}")
    if args.json:
        print(json.dumps(refs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
