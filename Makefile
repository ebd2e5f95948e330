# bpo-pipeline — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster
APT := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

.PHONY: help demo test test-fast ui lint bench docs venv sysdeps sysdeps-test clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt setup.py pipelines/_xesscan.c
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## create/update the virtual environment with the pinned versions

# Graphviz renders the process maps. Installed with apt when we are root, else one instruction.
sysdeps:
	@command -v dot >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && $(APT) graphviz >/dev/null; \
	  else echo "Graphviz is missing: run 'sudo apt-get install graphviz' and try again." >&2; exit 1; fi; }

# Tests also need a PostgreSQL server (throw-away clusters), Chromium (UI and report) and
# Redis (the Celery broker of the distributed tests; started per test, never as a service).
sysdeps-test: sysdeps
	@{ command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } && command -v chromium >/dev/null && command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && $(APT) postgresql chromium redis-server >/dev/null; \
	  else echo "PostgreSQL, Chromium or Redis is missing: run 'sudo apt-get install postgresql chromium redis-server' and try again." >&2; exit 1; fi; }

demo: sysdeps $(STAMP) ## run the whole pipeline on the built-in demo company into results/
	$(VENV)/bin/bpo demo --out results

test: sysdeps-test $(STAMP) ## run the whole test suite (slow and browser tests included)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n 2 --timeout 900

test-fast: sysdeps $(STAMP) ## the suite without slow, browser and PostgreSQL tests
	$(PY) -m pytest -n 2 -m "not slow and not browser and not postgres"

ui: sysdeps $(STAMP) ## Dagster UI on 127.0.0.1:3000 (history in DAGSTER_HOME)
	$(VENV)/bin/bpo ui

lint: $(STAMP) ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: sysdeps $(STAMP) ## benchmarks; figures go to bench/README.md
	$(PY) bench/run.py

docs: $(STAMP) ## regenerate docs/cost-file.md from the cost-file schema
	$(PY) -m optimize.docgen > docs/cost-file.md

clean: ## remove the venv, results and Dagster history
	rm -rf $(VENV) results .dagster .results.lock
