# Entry points for people and CI. `make run` and `make test` each do their own set-up first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# The project's installable distributions (each folder has its own pyproject.toml).
# The exporter and the bridge depend on common/ (bundle-common), which is on no package index: the one pip
# install below names it beside them, so pip takes it from here.
DISTRIBUTIONS := $(patsubst %/pyproject.toml,%,$(wildcard common/pyproject.toml exporter/pyproject.toml pushgateway-bridge/pyproject.toml sdk/pyproject.toml))
# Optional extras the bundle runs and tests with: the bridge's uvloop, the SDK's OpenTelemetry exporter.
EXTRAS_pushgateway-bridge := [fast,postgres]
EXTRAS_sdk := [otel]
LINT_PATHS := $(wildcard common/src exporter/src pushgateway-bridge/src sdk/src generator) tests bench scripts

.PHONY: help setup system-packages venv node-clients run test lint pytest rules rules-check bench exporter-golden exporter-readme clean

help:
	@echo "make run     set up, then run the bundle on loopback (Ctrl-C stops it)"
	@echo "make test    set up, then lint, check generated files, and run the whole test suite"
	@echo "make rules   render rules/, alertmanager/, grafana/, loki/ and docs/metrics.md"
	@echo "make bench   benchmarks (bench/), reported as ratios to their anchors"

setup: system-packages venv node-clients

system-packages:
	@scripts/install-system-packages.sh

# The venv is rebuilt only when a dependency list changes.
venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt $(foreach d,$(DISTRIBUTIONS),$(d)/pyproject.toml)
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PIP) install -q --upgrade pip
	@$(PIP) install -q $(foreach d,$(DISTRIBUTIONS),-e './$(d)$(EXTRAS_$(d))') -r requirements-dev.txt
	@touch $@

# The seeds' Node.js and TypeScript clients (axios, tsx), pinned by package-lock.json.
NODE_CLIENTS := tests/seed_clients/node
node-clients: $(NODE_CLIENTS)/node_modules/.installed
$(NODE_CLIENTS)/node_modules/.installed: $(NODE_CLIENTS)/package-lock.json
	@npm ci --prefix $(NODE_CLIENTS) --no-audit --no-fund --loglevel=error
	@touch $@

run: setup
	@$(PY) scripts/run.py

test: setup lint rules-check pytest

lint: venv
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy $(LINT_PATHS)

# Two workers, each taking whole test files (a file's shared stack is built once): the suite spends much of
# its time waiting on Prometheus, Alertmanager and the bridges, so two halve it on a 2-core machine.
# `make test PYTEST_WORKERS=0` runs it in one process; pytest run directly is one process too.
PYTEST_WORKERS ?= 2
pytest: venv
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile

rules: venv
	$(PY) -m generator

# Generated files must equal a fresh render of their source.
rules-check: venv
	$(PY) -m generator --check

# wrk (Debian package) drives the bridge benchmark from a separate process.
bench: setup
	@scripts/install-system-packages.sh wrk
	$(PY) bench/exporter_bench.py
	$(PY) bench/bridge_bench.py
	$(PY) bench/dedupe_window_bench.py
	$(PY) bench/sdk_spool_bench.py
	$(PY) bench/notifications_bench.py
	$(PY) bench/remote_write_bench.py
	$(PY) bench/storage_bench.py

# The exporter README's collector and flag tables, rendered from the collectors' specs.
exporter-readme: venv
	UPDATE_README=1 $(VENV)/bin/pytest -q tests/exporter/test_readme.py

# The exporter's expected output on its fixture trees, after an intended change.
exporter-golden: venv
	UPDATE_GOLDEN=1 $(VENV)/bin/pytest -q tests/exporter/test_binary.py -k golden

clean:
	rm -rf $(VENV) .run $(NODE_CLIENTS)/node_modules
