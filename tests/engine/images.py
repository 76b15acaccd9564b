"""Small local stand-ins for the four telemetry images, for the engine tests.

No registry is reachable from the test machines, so the engine tests cannot
pull jaeger, otel-collector, prometheus or grafana.  This module assembles a
root filesystem for each service from files already on the machine (the static
busybox of Debian's ``busybox-static``, the real Prometheus binary of Debian's
``prometheus``), writes it as a tarball and imports it with ``docker import`` /
``podman import``.  Tests may use the engine CLIs; the product never does.

Each stand-in behaves like the real image where the product can notice:
same numeric user, same entrypoint path, same ports and health endpoints,
the same failure when a copied-in file is unreadable or a data volume is not
writable.  PID 1 traps TERM/INT so ``stop`` returns at once.

    from tests.engine.images import build_images
    refs = build_images("docker")      # {"jaeger": "localhost/...:test", ...}

Images are rebuilt only when their content changes: every image carries a
label with the sha256 of its root filesystem tarball and import options.
Run ``python tests/engine/images.py docker podman`` to build them by hand.

The tarball is written with :mod:`tarfile` rather than from a directory tree,
so file ownership (472, 65534, ...) does not need root on the build side.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

REPOSITORY = "localhost/llama-telemetry-test"
TAG = "test"
SERVICES = ("jaeger", "otel-collector", "prometheus", "grafana")
IMAGE_REFS = {service: f"{REPOSITORY}/{service}:{TAG}" for service in SERVICES}
ENGINES = ("docker", "podman")

HASH_LABEL = "io.llama-telemetry-test.rootfs-hash"
BUSYBOX = Path("/bin/busybox")
PROMETHEUS = Path("/usr/bin/prometheus")

# Fixed metadata makes the tarball (and so its hash) depend on content only.
_MTIME = 1_700_000_000
_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

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

    def tarball(self) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
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
        return buffer.getvalue()


def _rel(path: str) -> str:
    return str(PurePosixPath(path.lstrip("/")))


@dataclass(frozen=True)
class _User:
    name: str
    uid: int
    gid: int
    group: str
    home: str


# Sourced by the OTLP/HTTP handlers: just enough HTTP/1.1 to take one JSON POST.
_HTTP_SH = r"""# read_request: sets $method, $path and $body from the request on stdin
read_request() {
    read -r method path _
    length=0
    while read -r line; do
        line=$(printf '%s' "$line" | tr -d '\r')
        [ -z "$line" ] && break
        case "$line" in
            [Cc]ontent-[Ll]ength:*) length=$(printf '%s' "${line#*:}" | tr -d ' ') ;;
        esac
    done
    body=$(head -c "$length")
}

# respond CODE BODY
respond() {
    printf 'HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
        "$1" "${#2}" "$2"
}

# json_string KEY: the first "KEY": "value" in $body
json_string() {
    printf '%s' "$body" | sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" | head -n 1
}
"""


def _base(user: _User) -> RootFS:
    """What every stand-in shares: busybox, users, /tmp, the shell helpers."""
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

    users = {_User("root", 0, 0, "root", "/root"), _User("nobody", 65534, 65534, "nogroup", "/nonexistent"), user}
    groups = {(u.group, u.gid) for u in users}
    fs.file(
        "etc/passwd",
        "".join(f"{u.name}:x:{u.uid}:{u.gid}::{u.home}:/bin/sh\n" for u in sorted(users, key=lambda u: u.uid)),
    )
    fs.file("etc/group", "".join(f"{name}:x:{gid}:\n" for name, gid in sorted(groups, key=lambda g: g[1])))
    fs.file("etc/nsswitch.conf", "hosts: files dns\n")
    if user.home != "/nonexistent":
        fs.dir(user.home, mode=0o755, uid=user.uid, gid=user.gid)
    fs.dir("srv/empty")
    fs.file("lib/stand-in/common.sh", _COMMON_SH)
    fs.file("lib/stand-in/http.sh", _HTTP_SH)
    return fs


# Sourced by every stand-in entrypoint.  The servers run in the background and
# the shell (PID 1) watches them: TERM/INT end everything at once, and a server
# that dies on its own makes the container exit non-zero.
_COMMON_SH = r"""# llama-telemetry test stand-in helpers (sourced, not run)
stand_in_pids=""

# serve PORT DOCROOT: answer HTTP on 0.0.0.0:PORT from the files under DOCROOT.
serve() {
    httpd -f -p "0.0.0.0:$1" -h "$2" &
    stand_in_pids="$stand_in_pids $!"
}

# serve_handler PORT SCRIPT: run SCRIPT for every connection on PORT (stdin/stdout are the socket).
serve_handler() {
    nc -ll -p "$1" -e "$2" &
    stand_in_pids="$stand_in_pids $!"
}

stand_in_stop() {
    trap - TERM INT
    [ -z "$stand_in_pids" ] || kill $stand_in_pids 2>/dev/null
    exit "${1:-0}"
}

serve_until_stopped() {
    trap 'stand_in_stop 0' TERM INT
    while :; do
        for pid in $stand_in_pids; do
            if ! kill -0 "$pid" 2>/dev/null; then
                echo "stand-in: server process $pid exited unexpectedly" >&2
                stand_in_stop 1
            fi
        done
        # `wait` returns as soon as a trapped signal arrives, `sleep` would not.
        sleep 1 &
        wait $!
    done
}
"""


# --------------------------------------------------------------------------
# The four stand-ins
# --------------------------------------------------------------------------


@dataclass
class _Image:
    rootfs: RootFS
    changes: list[str]


def _instruction(keyword: str, value: list[str]) -> str:
    return f"{keyword} {json.dumps(value)}"


def _expose(*ports: int) -> list[str]:
    # podman import takes a single port per EXPOSE.
    return [f"EXPOSE {port}/tcp" for port in ports]


def _jaeger() -> _Image:
    fs = _base(_User("jaeger", 10001, 10001, "jaeger", "/nonexistent"))
    fs.file("srv/jaeger/ui/index.html", "<!doctype html><title>Jaeger UI (test stand-in)</title>\n")
    fs.file("srv/jaeger/ui/api/services", '{"data":[],"total":0,"limit":0,"offset":0,"errors":null}\n')
    # Same path as the real jaegertracing/jaeger v2 image; the arguments
    # (`--set receivers...`, `--config ...`) are accepted and only logged.
    # OTLP/HTTP with JSON bodies (what `llama-telemetry verify` sends through the collector):
    # each trace id becomes /api/traces/<id> on the query port, as Jaeger would answer it.
    fs.script(
        "lib/stand-in/jaeger-otlp.sh",
        r"""#!/bin/sh
. /lib/stand-in/http.sh
read_request
if [ "$path" = /v1/traces ]; then
    for id in $(printf '%s' "$body" | grep -o '"traceId": *"[0-9a-f]*"' | sed 's/.*"\([0-9a-f]*\)"$/\1/'); do
        printf '{"data":[{"traceID":"%s","spans":[],"processes":{}}],"total":1}\n' "$id" >"/tmp/jaeger/api/traces/$id"
        echo "jaeger stand-in: stored trace $id" >&2
    done
fi
respond "200 OK" "{}"
""",
    )
    fs.script(
        "cmd/jaeger/jaeger-linux",
        r"""#!/bin/sh
. /lib/stand-in/common.sh
echo "jaeger stand-in: arguments: $*"
mkdir -p /tmp/jaeger/api/traces && cp -r /srv/jaeger/ui/. /tmp/jaeger/
serve 16686 /tmp/jaeger
serve 4317 /srv/empty
serve_handler 4318 /lib/stand-in/jaeger-otlp.sh
echo "jaeger stand-in: query API on :16686, OTLP on :4317 and :4318"
serve_until_stopped
""",
    )
    return _Image(
        fs,
        [
            "USER 10001",
            _instruction("ENTRYPOINT", ["/cmd/jaeger/jaeger-linux"]),
            *_expose(4317, 4318, 16686),
        ],
    )


_COLLECTOR_METRICS = """\
# HELP llama_stack_requests_total Requests handled by llama-stack.
# TYPE llama_stack_requests_total counter
llama_stack_requests_total{api="inference",method="POST",status="ok",status_code="200"} 1
"""


def _otel_collector() -> _Image:
    fs = _base(_User("otel", 10001, 10001, "otel", "/nonexistent"))
    fs.dir("etc/otelcol-contrib")  # exists in the real image; the product copies config.yaml in
    fs.file("srv/otelcol/health/index.html", '{"status":"Server available"}\n')
    fs.file("srv/otelcol/exporter/metrics", _COLLECTOR_METRICS)
    # OTLP/HTTP with JSON bodies: traces are passed on to jaeger, and a gauge becomes a series on the
    # exporter page with the name our collector config gives it (one llama_stack_ prefix). Protobuf
    # bodies (real SDKs) are accepted and dropped.
    fs.script(
        "lib/stand-in/collector-otlp.sh",
        r"""#!/bin/sh
. /lib/stand-in/http.sh
read_request
case "$path" in
    /v1/traces)
        wget -q -O /dev/null --header 'Content-Type: application/json' --post-data "$body" http://jaeger:4318/v1/traces \
            || echo "collector stand-in: could not forward traces to jaeger:4318" >&2
        ;;
    /v1/metrics)
        name=$(json_string name)
        job=$(printf '%s' "$body" | sed -n 's/.*"key": *"service.name", *"value": *{ *"stringValue": *"\([^"]*\)".*/\1/p')
        value=$(printf '%s' "$body" | sed -n 's/.*"asDouble": *\([0-9.eE+-]*\).*/\1/p')
        labels=$(printf '%s' "${body#*dataPoints}" \
            | grep -o '"key": *"[^"]*", *"value": *{ *"stringValue": *"[^"]*"' \
            | sed 's/"key": *"\([^"]*\)", *"value": *{ *"stringValue": *"\([^"]*\)"/\1="\2"/' | tr '.\n' '_,')
        case "$name" in llama_stack.*) ;; *) name="llama_stack.$name" ;; esac
        if [ -n "$name" ] && [ -n "$value" ]; then
            echo "$(printf '%s' "$name" | tr . _){job=\"$job\",${labels%,}} $value" >>/tmp/otelcol/exporter/metrics
            echo "collector stand-in: exported $name" >&2
        fi
        ;;
esac
respond "200 OK" "{}"
""",
    )
    fs.script(
        "otelcol-contrib",
        r"""#!/bin/sh
# Test stand-in for otelcol-contrib: reads its --config files like the real
# collector (as the image user), then serves health_check and the exporter.
. /lib/stand-in/common.sh

fail() {
    echo "Error: $1" >&2
    echo "$(date '+%Y/%m/%d %H:%M:%S') collector server run finished with error: $1" >&2
    exit 1
}

configs=""
while [ $# -gt 0 ]; do
    case "$1" in
        --config=*) configs="$configs ${1#--config=}" ;;
        --config)
            [ $# -ge 2 ] || fail "flag needs an argument: --config"
            shift
            configs="$configs $1"
            ;;
    esac
    shift
done
[ -n "$configs" ] || fail "at least one config flag must be provided"

for uri in $configs; do
    path=${uri#file:}
    parent=$(dirname "$path")
    if [ -d "$parent" ] && [ ! -x "$parent" ]; then
        # like open(2): a directory the user cannot search hides its files with EACCES
        reason="open $path: permission denied"
    elif [ ! -e "$path" ]; then
        reason="open $path: no such file or directory"
    elif [ -d "$path" ]; then
        reason="read $path: is a directory"
    elif ! cat "$path" >/dev/null 2>&1; then
        reason="open $path: permission denied"
    else
        echo "otelcol stand-in: loaded configuration $path"
        continue
    fi
    fail "failed to get config: cannot resolve the configuration: cannot retrieve the configuration: unable to read the file file:$path: $reason"
done

mkdir -p /tmp/otelcol && cp -r /srv/otelcol/exporter /tmp/otelcol/
serve 13133 /srv/otelcol/health
serve 8889 /tmp/otelcol/exporter
serve 4317 /srv/empty
serve_handler 4318 /lib/stand-in/collector-otlp.sh
echo "Everything is ready. Begin running and processing data."
serve_until_stopped
""",
    )
    return _Image(
        fs,
        [
            "USER 10001",
            _instruction("ENTRYPOINT", ["/otelcol-contrib"]),
            _instruction("CMD", ["--config", "/etc/otelcol-contrib/config.yaml"]),
            *_expose(4317, 4318, 13133, 8889),
        ],
    )


def _shared_libraries(binary: Path) -> list[Path]:
    """The libraries (and the ELF interpreter) `ldd` lists for a binary."""
    out = subprocess.run(["ldd", str(binary)], check=True, capture_output=True, text=True).stdout
    libraries = []
    for line in out.splitlines():
        # "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
        words = line.split()
        if "=>" in words:
            words = words[words.index("=>") + 1 :]
        if words and words[0].startswith("/"):
            libraries.append(Path(words[0]))
    return libraries


def _prometheus() -> _Image:
    if not PROMETHEUS.is_file():
        raise RuntimeError(f"{PROMETHEUS} is missing: install the Debian package prometheus")
    fs = _base(_User("nobody", 65534, 65534, "nogroup", "/nonexistent"))
    fs.copy("bin/prometheus", PROMETHEUS, mode=0o755)
    for library in _shared_libraries(PROMETHEUS):
        fs.copy(str(library), library, mode=0o755)
    # Like prom/prometheus: both owned by nobody, so a fresh named volume on
    # /prometheus takes this ownership over when it is first mounted.
    fs.dir("prometheus", mode=0o755, uid=65534, gid=65534)
    fs.dir("etc/prometheus", mode=0o755, uid=65534, gid=65534)
    return _Image(
        fs,
        [
            "USER 65534",
            "WORKDIR /prometheus",
            _instruction("ENTRYPOINT", ["/bin/prometheus"]),
            _instruction("CMD", ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]),
            *_expose(9090),
            _instruction("VOLUME", ["/prometheus"]),
        ],
    )


def _grafana() -> _Image:
    # As in grafana/grafana: user 472 whose primary group is root (0).
    fs = _base(_User("grafana", 472, 0, "root", "/usr/share/grafana"))
    fs.dir("var/lib/grafana", mode=0o775, uid=472, gid=0)
    fs.dir("var/log/grafana", mode=0o775, uid=472, gid=0)
    for sub in ("", "/datasources", "/dashboards", "/alerting", "/plugins"):
        fs.dir(f"etc/grafana/provisioning{sub}", mode=0o775, uid=472, gid=0)
    # /etc/grafana/dashboards is deliberately absent, as in the real image.
    fs.file("etc/grafana/grafana.ini", "; test stand-in: settings come from GF_* variables\n")
    fs.file("usr/share/grafana/public/index.html", "<!doctype html><title>Grafana (test stand-in)</title>\n")
    fs.file("usr/share/grafana/public/api/health", '{"database":"ok","version":"stand-in"}\n')
    fs.script(
        "run.sh",
        r"""#!/bin/sh
# Test stand-in for grafana's /run.sh: the same start-up checks, then
# /api/health on :3000.
. /lib/stand-in/common.sh

config=${GF_PATHS_CONFIG:-/etc/grafana/grafana.ini}
data=${GF_PATHS_DATA:-/var/lib/grafana}
provisioning=${GF_PATHS_PROVISIONING:-/etc/grafana/provisioning}

if [ ! -r "$config" ]; then
    echo "GF_PATHS_CONFIG='$config' is not readable."
    exit 1
fi
if [ ! -w "$data" ]; then
    echo "GF_PATHS_DATA='$data' is not writable."
    echo "You may have issues with file permissions, more information here: http://docs.grafana.org/installation/docker/#migrate-to-v51-or-later"
    exit 1
fi

unreadable() {
    echo "Error: ✗ failed to read $1: open $1: permission denied" >&2
    exit 1
}

# read_tree DIR: read every file below DIR, as Grafana's provisioning does.
read_tree() {
    local entry
    [ -r "$1" ] && [ -x "$1" ] || unreadable "$1"
    for entry in "$1"/*; do
        if [ -d "$entry" ]; then
            read_tree "$entry"
        elif [ -e "$entry" ]; then
            cat "$entry" >/dev/null 2>&1 || unreadable "$entry"
            echo "provisioning: read $entry"
        fi
    done
}
for dir in "$provisioning" /etc/grafana/dashboards; do
    [ -d "$dir" ] && read_tree "$dir"
done

if [ -e "$data/grafana.db" ]; then
    echo "database: using existing $data/grafana.db"
else
    : >"$data/grafana.db" || exit 1
    echo "database: created $data/grafana.db"
fi

# /api/datasources/uid/<uid>/health for each provisioned datasource, behind the admin login, like
# Grafana's own datasource health check (the stand-in only proves the uids and the login match).
www=/tmp/grafana-www
mkdir -p "$www" && cp -r /usr/share/grafana/public/. "$www/"
for uid in $(sed -n 's/^ *uid: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$provisioning"/datasources/*.yaml 2>/dev/null); do
    mkdir -p "$www/api/datasources/uid/$uid"
    echo '{"status":"OK","message":"stand-in: datasource is working"}' >"$www/api/datasources/uid/$uid/health"
done
printf '/api/datasources:%s:%s\n' "${GF_SECURITY_ADMIN_USER:-admin}" "${GF_SECURITY_ADMIN_PASSWORD:-admin}" >/tmp/grafana-httpd.conf
httpd -f -p 0.0.0.0:3000 -h "$www" -c /tmp/grafana-httpd.conf &
stand_in_pids="$stand_in_pids $!"
echo 'logger=http.server level=info msg="HTTP Server Listen" address=[::]:3000 protocol=http'
serve_until_stopped
""",
    )
    return _Image(
        fs,
        [
            "USER 472",
            "WORKDIR /usr/share/grafana",
            "ENV GF_PATHS_CONFIG=/etc/grafana/grafana.ini",
            "ENV GF_PATHS_DATA=/var/lib/grafana",
            "ENV GF_PATHS_LOGS=/var/log/grafana",
            "ENV GF_PATHS_PROVISIONING=/etc/grafana/provisioning",
            _instruction("ENTRYPOINT", ["/run.sh"]),
            *_expose(3000),
        ],
    )


_RECIPES = {
    "jaeger": _jaeger,
    "otel-collector": _otel_collector,
    "prometheus": _prometheus,
    "grafana": _grafana,
}


# --------------------------------------------------------------------------
# Importing into an engine
# --------------------------------------------------------------------------


def _run(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv[:3])} ...` failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def _inspect(engine: str, ref: str) -> tuple[str, dict[str, str]] | None:
    """(image id, labels) of ref, or None when the engine has no such image."""
    result = subprocess.run([engine, "image", "inspect", ref], capture_output=True, text=True)
    if result.returncode != 0:
        return None
    details = json.loads(result.stdout)[0]
    labels = (details.get("Config") or {}).get("Labels") or details.get("Labels") or {}
    return details["Id"], labels


@contextmanager
def _engine_lock(engine: str) -> Iterator[None]:
    """Serialize builds per engine across processes (e.g. pytest-xdist workers)."""
    path = Path(tempfile.gettempdir()) / f"llama-telemetry-test-images-{engine}.lock"
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure(engine: str, service: str) -> str:
    ref = IMAGE_REFS[service]
    image = _RECIPES[service]()
    tarball = image.rootfs.tarball()
    digest = hashlib.sha256(tarball)
    digest.update("\n".join(image.changes).encode())
    content_hash = digest.hexdigest()[:32]

    existing = _inspect(engine, ref)
    if existing and existing[1].get(HASH_LABEL) == content_hash:
        return ref

    changes = [*image.changes, f"ENV {_PATH_ENV}", f"LABEL {HASH_LABEL}={content_hash}"]
    with tempfile.NamedTemporaryFile(prefix=f"{service}-rootfs-", suffix=".tar") as handle:
        handle.write(tarball)
        handle.flush()
        argv = [engine, "import"]
        for change in changes:
            argv += ["--change", change]
        _run([*argv, handle.name, ref])

    # The previous build is now untagged: drop it unless a container still uses it.
    if existing:
        subprocess.run([engine, "image", "rm", existing[0]], capture_output=True)
    return ref


def build_images(engine: str) -> dict[str, str]:
    """Build (or reuse) the four stand-in images on engine ("docker" or "podman").

    Returns service -> image ref.  Cheap after the first call: images whose
    content hash label matches are kept, and results are cached per process.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if engine in _built:
        return dict(_built[engine])
    if shutil.which(engine) is None:
        raise RuntimeError(f"the {engine} command is not installed")
    with _engine_lock(engine):
        refs = {service: _ensure(engine, service) for service in SERVICES}
    _built[engine] = refs
    return dict(refs)


if __name__ == "__main__":
    for name in sys.argv[1:] or list(ENGINES):
        started = time.monotonic()
        built = build_images(name)
        print(f"{name}: {len(built)} images in {time.monotonic() - started:.1f}s")
        for svc, image_ref in built.items():
            print(f"  {svc:15} {image_ref}")
