#!/usr/bin/env bash
# Run the test suite: creates .venv if needed, installs the package with its test, demo and lint extras,
# then runs pytest (arguments are passed on, e.g. `bash scripts/test.sh tests/unit -q`).
# Engine tests run against every engine that answers here and skip the others, unless
# LLAMA_TELEMETRY_REQUIRE_ENGINES=docker,podman is set (as in CI): then they must run and pass.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,demo,lint]'
exec .venv/bin/python -m pytest "$@"
