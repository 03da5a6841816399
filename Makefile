# flex-usage: `make run` (demo end to end) and `make test` set everything up themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
# Install profiles, one stamp each; both install from the same lock (as constraints).
# Installs compile every module to bytecode: where PYTHONDONTWRITEBYTECODE is set (as on
# this machine and in CI) Python would otherwise compile dagster, dbt and Great Expectations
# from source in every process it starts (about 5 s of CPU each).
#   run: what the product needs at run time (make run, make dev)
#   dev: run + the dev, spark and postgres extras (make test, make lint, .ci/run)
DEV_EXTRAS := dev,spark,postgres
STAMP_RUN  := $(VENV)/.installed-run
STAMP_DEV  := $(VENV)/.installed-dev

export FLEX_LANDING_DIR ?= $(CURDIR)/landing
export FLEX_WAREHOUSE   ?= $(CURDIR)/warehouse/flex_usage.duckdb
export FLEX_EXPORTS_DIR ?= $(CURDIR)/exports
export DBT_PROFILES_DIR := $(CURDIR)/dbt_project
# The one Dagster instance of the CLI, `make run` and `make dev` (runs, sensor cursors).
export DAGSTER_HOME     ?= $(CURDIR)/.dagster_home
DEV_PORT ?= 3000

# Demo deliveries written by `make run` when the landing folder has none.
DEMO_START ?= 2025-10-27
DEMO_END   ?= 2026-11-27
DEMO_TEAMS ?= 30
# A local, never committed HMAC key for the demo (real deployments set FLEX_PII_HASH_KEY).
DEMO_KEY_FILE := $(CURDIR)/.flex_demo_key
SCALE ?= small

.PHONY: help install install-dev manifest run refresh dev test test-fast lint format bench clean preview fuzz

help:
	@echo "make run    install, generate demo deliveries if none, refresh, write the exports"
	@echo "make test   install and run every test (pytest: unit, dbt, pipeline, Spark parity)"
	@echo "make test-fast  the edit loop: every test not marked slow, spark or bench"
	@echo "make dev    start dagster dev on the code location (DEV_PORT=3000), Ctrl-C stops it"
	@echo "make fuzz   fuzz ingest longer than make test does (hypothesis, thousands of cases)"
	@echo "make lint   ruff + mypy + sqlfluff;  make bench SCALE=small|medium|large"
	@echo "make preview [TEAM=id]  print a team's newest workbook to preview/ (PDF + PNG pages)"

$(VENV)/.uv:
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	@touch $@

$(STAMP_RUN): pyproject.toml requirements.lock | $(VENV)/.uv
	@$(BIN)/uv pip install -q --compile-bytecode -p $(PY) -c requirements.lock -e .
	@touch $@

# The dev profile includes the run profile, so it refreshes both stamps.
$(STAMP_DEV): pyproject.toml requirements.lock | $(VENV)/.uv
	@$(BIN)/uv pip install -q --compile-bytecode -p $(PY) -c requirements.lock -e '.[$(DEV_EXTRAS)]'
	@touch $@ $(STAMP_RUN)

install: $(STAMP_RUN)

install-dev: $(STAMP_DEV)

# dbt's manifest, which the Dagster code location loads.
manifest: install
	@cd dbt_project && ../$(BIN)/dbt parse --quiet

$(DEMO_KEY_FILE):
	@$(PY) -c "import secrets; print(secrets.token_hex(32))" > $@ && chmod 600 $@

run: manifest $(DEMO_KEY_FILE)
	@if ! ls -d "$(FLEX_LANDING_DIR)"/????-??-?? >/dev/null 2>&1; then \
	  echo "no deliveries in $(FLEX_LANDING_DIR): generating the demo landing folder"; \
	  $(PY) -m tools.generate --landing "$(FLEX_LANDING_DIR)" \
	    --start $(DEMO_START) --end $(DEMO_END) --teams $(DEMO_TEAMS); \
	fi
	@FLEX_PII_HASH_KEY="$${FLEX_PII_HASH_KEY:-$$(cat $(DEMO_KEY_FILE))}" \
	  $(BIN)/flex-usage refresh --landing "$(FLEX_LANDING_DIR)"

dev: manifest $(DEMO_KEY_FILE)
	@FLEX_PII_HASH_KEY="$${FLEX_PII_HASH_KEY:-$$(cat $(DEMO_KEY_FILE))}" \
	  exec $(PY) -m orchestration.dev --port $(DEV_PORT)

# Three workers (on 2 cores: a quarter of a worker's time is spent waiting on dbt, Spark
# and CLI subprocesses, files and sleeps) take one work unit (a test, or a module sharing a
# module fixture) at a time, the longest first: the order and the units are set in
# tests/conftest.py, so xdist must not reorder them. Four workers were slower (915 s against
# 891 s, with 13% more CPU: more processes contending for the same 2 cores).
XDIST := -n 3 --dist loadscope --no-loadscope-reorder

test: install-dev manifest
	@$(BIN)/pytest $(XDIST) -q --durations=15

# Unit, dbt and small pipeline tests: the slow, spark and bench marks are left out.
test-fast: install-dev manifest
	@$(BIN)/pytest $(XDIST) -q -m "not slow and not spark and not bench" --durations=5

# `make test` runs the same fuzz properties with a small fixed budget (FLEX_FUZZ=ci).
fuzz: install-dev
	@FLEX_FUZZ=long $(BIN)/pytest -p no:xdist -q tests/test_ingest_fuzz.py

lint: install-dev
	@$(BIN)/ruff check orchestration tools tests bench
	@$(BIN)/ruff format --check orchestration tools tests bench
	@$(BIN)/mypy
	@cd dbt_project && FLEX_WAREHOUSE=":memory:" FLEX_AS_OF_DATE=2026-01-01 ../$(BIN)/sqlfluff lint models tests --processes 2

format: install-dev
	@$(BIN)/ruff check --fix orchestration tools tests bench
	@$(BIN)/ruff format orchestration tools tests bench

# Print preview: needs the Debian packages libreoffice-calc and poppler-utils.
preview: install
	@$(PY) -m orchestration.exports.preview --exports "$(FLEX_EXPORTS_DIR)" \
	  --out "$(CURDIR)/preview" $(if $(TEAM),--team "$(TEAM)")

bench: install-dev manifest
	@$(PY) -m bench.run --scale $(SCALE) --settle 180

clean:
	rm -rf warehouse exports/*/ dbt_project/target .pytest_cache preview
