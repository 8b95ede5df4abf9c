# dnalens: `make demo` and `make test` work on a fresh clone (they create .venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# CPU build of torch (no CUDA download) for this kind of machine and CI.
CONSTRAINTS := constraints/cpu.txt
PYTEST_ARGS ?=

.PHONY: demo test test-fast lint bench clean

$(BIN)/dnalens: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[dev,splice,hic]"
	touch $(BIN)/dnalens

demo: $(BIN)/dnalens
	$(BIN)/dnalens demo --out dnalens-demo

test: $(BIN)/dnalens
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(BIN)/dnalens
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(BIN)/dnalens
	$(BIN)/ruff check src tests benchmarks

bench: $(BIN)/dnalens
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[bench]"
	bash benchmarks/run_all.sh

clean:
	rm -rf $(VENV) dnalens-demo runs .pytest_cache
