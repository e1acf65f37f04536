# The two commands of the quick start: `make run` sets up and runs the default job,
# `make test` runs the tests. Everything installs from this repository's own files.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint bench clean

$(BIN)/scorestate: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

setup: $(BIN)/scorestate

run: setup
	$(BIN)/scorestate run

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks validation

bench: setup
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) scorestate.duckdb scorestate.duckdb.wal scorestate.duckdb.ledger
