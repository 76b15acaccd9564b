#!/usr/bin/env bash
# Prepare a Debian 12 machine (as root) so the engine tests can run against
# real Docker and real rootful Podman.  Safe to run again: every step first
# checks whether it is already done.
#
#   bash scripts/setup-engines.sh
#
# What it does:
#   1. apt-get installs the engines, the test tools and the compose tools
#      (only the missing ones);
#   2. configures Podman to use runc and ulimits this kind of VM allows
#      (/etc/containers/containers.conf);
#   3. starts dockerd if `docker version` does not answer;
#   4. starts the rootful Podman API service on unix:///run/podman/podman.sock
#      if it does not answer.
set -euo pipefail

# netavark + aardvark-dns give Podman networks with container-name DNS; the compose tools run the
# `render --format compose` output in tests; busybox-static is the shell of the test images (the real
# programs in them are built from their Go modules by the test suite itself).
PACKAGES=(docker.io podman runc netavark aardvark-dns curl busybox-static docker-compose podman-compose)
CONTAINERS_CONF=/etc/containers/containers.conf
DOCKER_SOCK=/var/run/docker.sock
DOCKER_LOG=/tmp/dockerd.log
PODMAN_SOCK=/run/podman/podman.sock
PODMAN_LOG=/tmp/podman-service.log
WAIT_SECONDS=60

say() { printf 'setup-engines: %s\n' "$*"; }
die() { printf 'setup-engines: ERROR: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    die "must run as root (it installs packages and starts system daemons)"
fi

# --- 1. packages ------------------------------------------------------------
missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
else
    say "packages already installed: ${PACKAGES[*]}"
fi

# --- 2. podman configuration --------------------------------------------------
# crun fails on this kind of machine (hybrid cgroups, no CAP_SYS_RESOURCE to
# raise RLIMIT_NOFILE), so podman must use runc and modest default ulimits.
conf_ok() {
    [ -f "$CONTAINERS_CONF" ] \
        && grep -Eq '^[[:space:]]*runtime[[:space:]]*=[[:space:]]*"runc"' "$CONTAINERS_CONF" \
        && grep -Eq '^[[:space:]]*default_ulimits[[:space:]]*=.*nofile=1024:1024' "$CONTAINERS_CONF"
}
if conf_ok; then
    say "$CONTAINERS_CONF already selects runc and ulimits"
else
    if [ -s "$CONTAINERS_CONF" ]; then
        backup="$CONTAINERS_CONF.bak.$(date +%s)"
        cp -p "$CONTAINERS_CONF" "$backup"
        say "saved the previous $CONTAINERS_CONF as $backup"
    fi
    mkdir -p "$(dirname "$CONTAINERS_CONF")"
    cat >"$CONTAINERS_CONF" <<'EOF'
# Written by llama-telemetry scripts/setup-engines.sh (CI machine setup).
# crun cannot raise RLIMIT_NOFILE here and does not support hybrid cgroups.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
EOF
    say "wrote $CONTAINERS_CONF (runtime runc, nofile/nproc 1024)"
fi

# wait_for COMMAND...: poll COMMAND once a second, at most WAIT_SECONDS.
wait_for() {
    local i
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 1
    done
    return 1
}

# --- 3. docker ----------------------------------------------------------------
docker_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
if docker_answers; then
    say "docker already answers (server $(docker version --format '{{.Server.Version}}'))"
else
    say "starting dockerd (log: $DOCKER_LOG)"
    # No init system on CI machines: run the daemon detached in its own session.
    # From /: a daemon keeps its working directory, and a removed one (a deleted checkout) breaks what it spawns.
    (cd / && exec setsid dockerd --host "unix://$DOCKER_SOCK" >>"$DOCKER_LOG" 2>&1 </dev/null) &
    if ! wait_for docker_answers; then
        tail -n 20 "$DOCKER_LOG" >&2 || true
        die "dockerd did not answer within ${WAIT_SECONDS}s; see $DOCKER_LOG"
    fi
    say "docker answers (server $(docker version --format '{{.Server.Version}}'))"
fi

# --- 4. podman API service ------------------------------------------------------
podman_answers() {
    [ -S "$PODMAN_SOCK" ] && curl -fsS --max-time 3 --unix-socket "$PODMAN_SOCK" http://d/_ping >/dev/null 2>&1
}
if podman_answers; then
    say "podman API already answers on unix://$PODMAN_SOCK"
else
    mkdir -p "$(dirname "$PODMAN_SOCK")"
    # A socket file left behind by a dead service would make podman fail to bind.
    if [ -S "$PODMAN_SOCK" ]; then
        rm -f "$PODMAN_SOCK"
    fi
    say "starting the podman API service on unix://$PODMAN_SOCK (log: $PODMAN_LOG)"
    (cd / && exec setsid podman system service --time=0 "unix://$PODMAN_SOCK" >>"$PODMAN_LOG" 2>&1 </dev/null) &
    if ! wait_for podman_answers; then
        tail -n 20 "$PODMAN_LOG" >&2 || true
        die "the podman API service did not answer within ${WAIT_SECONDS}s; see $PODMAN_LOG"
    fi
    say "podman API answers (version $(podman version --format '{{.Server.Version}}' 2>/dev/null || echo unknown))"
fi

say "done: docker at unix://$DOCKER_SOCK, podman at unix://$PODMAN_SOCK"
