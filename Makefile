# clientmart: the two commands a newcomer needs are `make demo` and `make test`.
# Both create the virtual environment on first use (Python 3.11, pinned versions from
# requirements.lock), so a fresh clone needs nothing else.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

DEMO_CLIENTS ?= 2000
DEMO_START ?= 2026-09-01
DEMO_END ?= 2026-10-31
DEMO_SEED ?= 42
# the demo's own home: emptied by each `make demo`, so a bank of another size or dates never
# mixes with the one before (the default home, ./data, is left alone)
DEMO_HOME ?= data/demo

.PHONY: demo test test-spark-full lint ui venv clean-data lock bench

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## demo: generate a sample bank, run the nightly pipeline over every date, print a summary
demo: $(STAMP)
	rm -rf "$(DEMO_HOME)"
	$(BIN)/clientmart generate --home "$(DEMO_HOME)" --clients $(DEMO_CLIENTS) --start $(DEMO_START) --end $(DEMO_END) --seed $(DEMO_SEED)
	$(BIN)/clientmart backfill --home "$(DEMO_HOME)" --from $(DEMO_START) --to $$($(BIN)/python -c "import datetime as d; print(d.date.fromisoformat('$(DEMO_END)') - d.timedelta(days=1))")
	$(BIN)/clientmart run --home "$(DEMO_HOME)" --date $(DEMO_END)
	$(BIN)/clientmart summary --home "$(DEMO_HOME)"

## test: the whole test suite (starts its own throwaway PostgreSQL and Dagster webserver;
## installs PostgreSQL and headless Chromium from Debian's packages if missing)
test: $(STAMP)
	bash scripts/install_postgres.sh
	bash scripts/install_chromium.sh
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=20

## test-spark-full: the Spark parity test with every unit test of the project on Spark too
## (make test runs the call list's only); after a change to a dispatched macro's Spark side
test-spark-full: $(STAMP)
	$(BIN)/pytest -q -m spark --spark-unit-tests=all

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

## ui: the Dagster UI on the same instance and data as `make demo`
ui: $(STAMP)
	$(BIN)/clientmart ui --home "$(DEMO_HOME)"

bench: $(STAMP)
	$(BIN)/python bench/run_benchmark.py

lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^clientmart' > requirements.lock

clean-data:
	rm -rf data
