# Two commands matter: `make run` (the service on the embedded mock) and `make test`.
# Both create .venv and install the pinned dependencies on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run mock test lint bench bench-quick load clean

$(STAMP): requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m service --host $(HOST) --port $(PORT)

mock: $(STAMP)
	$(BIN)/python -m mock_llm --host $(HOST) --port 8001

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	mkdir -p reports/bench
	$(BIN)/python -m pytest benchmarks -s --benchmark-json=reports/bench/benchmark.json $(BENCH_ARGS)

bench-quick: $(STAMP)
	$(BIN)/python -m pytest benchmarks --quick --benchmark-disable-gc -q $(BENCH_ARGS)

load: $(STAMP)
	$(BIN)/python -m loadtests $(LOAD_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .benchmarks reports
