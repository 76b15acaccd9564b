# Everyday commands. Each one runs in .venv, which scripts/test.sh creates and keeps installed
# (the package with its test, demo and lint extras).
VENV := .venv/bin

.PHONY: venv lint format unit engine bench test mutation

venv:
	bash scripts/test.sh --version >/dev/null

lint: venv  ## ruff (lint and format check) and mypy, as CI runs them
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy

format: venv  ## fix what ruff can fix, then format
	$(VENV)/ruff check --fix .
	$(VENV)/ruff format .

unit:  ## the fast tests: no engine, nothing slow (seconds)
	bash scripts/test.sh -m "not engine and not slow" -q

engine:  ## start the suite's dockerd and Podman service, then run the engine tests on both
	bash scripts/setup-engines.sh
	bash scripts/test.sh tests/engine -q

# CI runs the sample (a few minutes on 2 cores); `make mutation FULL=1` runs every mutant (about an hour), by hand
# before a release or after a large change. SEED picks another sample; MIN is the score below which it fails.
SEED ?= 0
MIN ?= 85
mutation: venv  ## mutation testing of the pure modules and templates (scripts/mutation.py): do the fast tests fail?
	$(VENV)/python scripts/mutation.py --min $(MIN) $(if $(FULL),,--sample 300 --seed $(SEED))

bench: venv  ## startup, up and down against each engine's own floor (see scripts/bench.py --help)
	$(VENV)/python scripts/bench.py

test:  ## everything, as README's test command does
	bash scripts/test.sh
