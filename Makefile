# customer360: every command a newcomer needs. `make demo` and `make test` are the two to know.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= 10000
# `make demo WAREHOUSE=/tmp/w.duckdb` points every command at another warehouse; without it
# the one default in orchestration/settings.py (data/warehouse.duckdb) applies.
ifdef WAREHOUSE
export CUSTOMER360_WAREHOUSE := $(abspath $(WAREHOUSE))
endif
WAREHOUSE_PATH = $$($(BIN)/python -c 'from orchestration.settings import get_settings; print(get_settings().warehouse)')
export DAGSTER_HOME ?= $(abspath .dagster_home)

.PHONY: pg-up pg-down pg-seed pg-change-day crm-api bench-live contract install demo test test-fast lint format ui bench bench-predictions sample clean docs dbt-docs dashboard segments dq-replay dq-report extract evaluate-identity bench-identity bench-identity-warehouse bench-sql compare-warehouses

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Build the warehouse from the committed sample's two days (runs recorded for `make ui`).
demo: $(STAMP)
	@$(BIN)/customer360 demo

## The full test suite: unit, dbt (dbt build on the sample) and end-to-end tests.
test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	CUSTOMER360_WAREHOUSE=$$(mktemp -d)/lint.duckdb $(BIN)/sqlfluff lint dbt_project/models --processes 2

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## The Dagster web UI on the project's definitions (http://127.0.0.1:3000).
ui: $(STAMP)
	mkdir -p $(DAGSTER_HOME) && cp orchestration/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	cd $(CURDIR) && $(abspath $(BIN))/dg dev --host 127.0.0.1 --port 3000

## Benchmark every heavy stage at SCALE customers (10000, 100000, 1000000); the live sources
## at SCALE orders (with lines) out of PostgreSQL and SCALE / 10 contacts out of the CRM API.
bench: $(STAMP)
	$(BIN)/python -m python_models.benchmarks.pipeline --scale $(SCALE)
	$(BIN)/python -m python_models.benchmarks.activation --customers $(SCALE)
	$(BIN)/python -m python_models.benchmarks.predictions --scale $(SCALE)
	$(BIN)/python -m python_models.benchmarks.live_sources --scale $(SCALE) --out bench_out

## The prediction stages alone (churn features, training, scoring, CLV, recommendations) at SCALE.
bench-predictions: $(STAMP)
	$(BIN)/python -m python_models.benchmarks.predictions --scale $(SCALE)

## Regenerate the committed sample under seeds/sample and its second day, seeds/sample_day2.
## The second day carries the responses to the first day's win_back export (a planted
## effect), so the first day is built up to that export in a throwaway warehouse.
sample: $(STAMP)
	$(BIN)/customer360 sample --customers 3000 --seed 42 --out seeds/sample --truth-out seeds/sample_truth
	day1=$$(mktemp -d) && \
	CUSTOMER360_WAREHOUSE=$$day1/warehouse.duckdb CUSTOMER360_EXPORT_DIR=$$day1/exports \
	CUSTOMER360_MODEL_DIR=$$day1/models CUSTOMER360_DQ_DIR=$$day1/dq DAGSTER_HOME=$$day1/dagster \
	CUSTOMER360_LANDING_DIR=$(CURDIR)/seeds/sample CUSTOMER360_AS_OF= \
		$(BIN)/customer360 run '*' && \
	$(BIN)/customer360 next-day --sample seeds/sample --out seeds/sample_day2 \
		--campaign-sent $$day1/exports/win_back --campaign-name win_back && \
	rm -rf $$day1

clean:
	rm -rf data bench_out dbt_project/target dbt_project/logs .dagster_home

## Compile dbt_project/segments/segments.yml into dbt models (validates it first).
segments: $(STAMP)
	$(BIN)/customer360 segments compile

## Score the identity graph against the sample's ground truth.
evaluate-identity: $(STAMP)
	$(BIN)/customer360 identity evaluate --warehouse $(WAREHOUSE_PATH) --truth seeds/sample_truth

## Identity matcher vs Splink: FEBRL1/2 quality and a 100k-record scale run.
bench-identity: $(STAMP)
	$(BIN)/python -m python_models.benchmarks.identity_febrl
	$(BIN)/python -m python_models.benchmarks.identity_scale --records 100000

## Ours vs Splink on the person records of a built warehouse (default: the demo's).
bench-identity-warehouse: $(STAMP)
	$(BIN)/python -m python_models.benchmarks.identity_warehouse --warehouse $(WAREHOUSE_PATH) --truth seeds/sample_truth

## Hand-written DuckDB SQL vs the dbt models, side by side, on a bench warehouse (after `make bench SCALE=N`).
bench-sql: $(STAMP)
	$(BIN)/python -m python_models.benchmarks.sql_yardstick --warehouse bench_out/$(SCALE)/warehouse.duckdb

## Table-by-table comparison of two warehouses (row counts, per-column checksums); exits 1 on
## a difference: `make compare-warehouses BEFORE=baseline.duckdb [AFTER=...] [COMPARE_FLAGS=--allow-new]`.
compare-warehouses: $(STAMP)
	@test -n "$(BEFORE)" || { echo "usage: make compare-warehouses BEFORE=path/to/before.duckdb [AFTER=$(CUSTOMER360_WAREHOUSE)]"; exit 2; }
	$(BIN)/python -m python_models.benchmarks.compare_warehouses $(BEFORE) $(or $(AFTER),$(CUSTOMER360_WAREHOUSE)) $(COMPARE_FLAGS)

## Load new landing files into the warehouse and print what happened.
extract: $(STAMP)
	$(BIN)/customer360 extract

## Re-validate quarantined rows and release those that now pass.
dq-replay: $(STAMP)
	$(BIN)/customer360 quality replay

## Refresh the data-quality scorecard and write data/dq/scorecard.html.
dq-report: $(STAMP)
	$(BIN)/customer360 quality report

## Regenerate the dbt source yml of every raw table from the raw contract (python_models/contract).
contract: $(STAMP)
	$(BIN)/python -m python_models.contract sync

## Regenerate docs/data-dictionary.md from the dbt yml and the raw contract.
docs: $(STAMP)
	$(BIN)/customer360 docs

## dbt's docs site (lineage, columns with types, tests) for the built warehouse: http://127.0.0.1:8080
dbt-docs: $(STAMP)
	test -f $(WAREHOUSE_PATH) || { echo "no warehouse at $(WAREHOUSE_PATH): run make demo first"; exit 2; }
	cd dbt_project && CUSTOMER360_WAREHOUSE=$(WAREHOUSE_PATH) $(abspath $(BIN))/dbt docs generate --quiet
	cd dbt_project && CUSTOMER360_WAREHOUSE=$(WAREHOUSE_PATH) $(abspath $(BIN))/dbt docs serve --host 127.0.0.1 --port 8080 --no-browser

## The static dashboard (data/dashboard.html) from the warehouse as it is; every run writes it too.
dashboard: $(STAMP)
	$(BIN)/customer360 dashboard

## Live sources (docs/live-sources.md): a local PostgreSQL shop database, seeded from the sample.
pg-up: $(STAMP)
	$(BIN)/customer360 sources pg-up --seed

pg-seed: $(STAMP)
	$(BIN)/customer360 sources pg-seed

## One day of shop activity (DAY=1, 2, ...): new orders, status changes, soft and hard deletes.
pg-change-day: $(STAMP)
	$(BIN)/customer360 sources pg-change-day --day $(or $(DAY),1)

pg-down: $(STAMP)
	$(BIN)/customer360 sources pg-down

## The local CRM REST API on http://127.0.0.1:8765 (Ctrl-C stops it).
crm-api: $(STAMP)
	$(BIN)/customer360 sources crm-api serve

## Live sources benchmark: ORDERS orders (with lines) from PostgreSQL, CONTACTS contacts from the API.
bench-live: $(STAMP)
	$(BIN)/python -m python_models.benchmarks.live_sources --orders $(or $(ORDERS),1000000) --contacts $(or $(CONTACTS),100000)
