# The same commands CI runs (.ci/run), for working locally.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test lint sample bench ci
install:
	python3 -m venv $(VENV) && $(BIN)/pip install -q -e '.[test]'

test:
	$(BIN)/python -m pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

sample:
	$(BIN)/trustledger sample sample/ --force

bench:
	$(BIN)/python benchmarks/bench_append.py
	$(BIN)/python benchmarks/bench_verify.py

ci:
	bash .ci/run
