# flex-usage: `make run` (demo end to end) and `make test` set everything up themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UV_VERSION := 0.13.9

export FLEX_LANDING_DIR ?= $(CURDIR)/landing
export FLEX_WAREHOUSE   ?= $(CURDIR)/warehouse/flex_usage.duckdb
export FLEX_EXPORTS_DIR ?= $(CURDIR)/exports
export DBT_PROFILES_DIR := $(CURDIR)/dbt_project

# Demo deliveries written by `make run` when the landing folder has none.
DEMO_START ?= 2025-10-27
DEMO_END   ?= 2026-11-27
DEMO_TEAMS ?= 30
# A local, never committed HMAC key for the demo (real deployments set FLEX_PII_HASH_KEY).
DEMO_KEY_FILE := $(CURDIR)/.flex_demo_key
SCALE ?= small

.PHONY: help install manifest run refresh dev test fuzz lint format bench clean

help:
	@echo "make run    install, generate demo deliveries if none, refresh, write the exports"
	@echo "make test   install and run every test (pytest: unit, dbt, pipeline, Spark parity)"
	@echo "make dev    start dagster dev on the code location"
	@echo "make fuzz   fuzz ingest longer than make test does (hypothesis, thousands of cases)"
	@echo "make lint   ruff + sqlfluff;  make bench SCALE=small|medium|large"

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	@$(BIN)/uv pip install -q -p $(PY) -r requirements.lock
	@$(BIN)/uv pip install -q -p $(PY) --no-deps -e .
	@touch $@

install: $(STAMP)

# dbt's manifest, which the Dagster code location loads.
manifest: install
	@cd dbt_project && ../$(BIN)/dbt parse --quiet

$(DEMO_KEY_FILE):
	@$(PY) -c "import secrets; print(secrets.token_hex(32))" > $@ && chmod 600 $@

run: manifest $(DEMO_KEY_FILE)
	@if ! ls -d "$(FLEX_LANDING_DIR)"/????-??-?? >/dev/null 2>&1; then \
	  echo "no deliveries in $(FLEX_LANDING_DIR): generating the demo landing folder"; \
	  $(BIN)/flex-usage generate --landing "$(FLEX_LANDING_DIR)" \
	    --start $(DEMO_START) --end $(DEMO_END) --teams $(DEMO_TEAMS); \
	fi
	@FLEX_PII_HASH_KEY="$${FLEX_PII_HASH_KEY:-$$(cat $(DEMO_KEY_FILE))}" \
	  $(BIN)/flex-usage refresh --landing "$(FLEX_LANDING_DIR)"

dev: manifest $(DEMO_KEY_FILE)
	@mkdir -p .dagster_home && cp -n orchestration/dagster.yaml .dagster_home/dagster.yaml || true
	@DAGSTER_HOME=$(CURDIR)/.dagster_home \
	  FLEX_PII_HASH_KEY="$${FLEX_PII_HASH_KEY:-$$(cat $(DEMO_KEY_FILE))}" \
	  $(BIN)/dagster dev -m orchestration.definitions

test: manifest
	@$(BIN)/pytest -n 2 --dist loadfile -q --durations=10

# `make test` runs the same fuzz properties with a small fixed budget (FLEX_FUZZ=ci).
fuzz: install
	@FLEX_FUZZ=long $(BIN)/pytest -p no:xdist -q tests/test_ingest_fuzz.py

lint: install
	@$(BIN)/ruff check orchestration tests bench
	@$(BIN)/ruff format --check orchestration tests bench
	@cd dbt_project && FLEX_WAREHOUSE=":memory:" ../$(BIN)/sqlfluff lint models tests --processes 2

format: install
	@$(BIN)/ruff check --fix orchestration tests bench
	@$(BIN)/ruff format orchestration tests bench

bench: manifest
	@$(PY) -m bench.run --scale $(SCALE)

clean:
	rm -rf warehouse exports/*/ dbt_project/target .pytest_cache
