# pipeline-xl: set-up, demo, tests and benchmarks. Every target creates .venv itself.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint typecheck pytest bench compat clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/pipeline-xl demo --out build/demo --replace

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

pytest: $(VENV)/.dev-installed
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run.py $(BENCH_FLAGS)

# The engine, worksheet-function and Lite tests again on the pandas/numpy that xlwings
# Lite loads (Pyodide): the pins are constraints, so nothing newer slips in.
COMPAT := build/compat-venv
compat:
	$(PYTHON) -m venv $(COMPAT)
	mkdir -p build && printf 'numpy==2.0.2\npandas==2.2.3\n' > build/compat-constraints.txt
	$(COMPAT)/bin/python -m pip install --quiet -c build/compat-constraints.txt -e '.[dev]'
	$(COMPAT)/bin/python -c "import numpy, pandas; assert (numpy.__version__, pandas.__version__) == ('2.0.2', '2.2.3')"
	$(COMPAT)/bin/pytest -q -m "not libreoffice" tests/core tests/udfs tests/lite

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache
