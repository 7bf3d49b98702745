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
	$(BIN)/pipeline-xl demo --out build/demo

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

pytest: $(VENV)/.dev-installed
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run.py

# The core tests again on the oldest pandas/numpy we support (what xlwings Lite loads).
compat:
	$(PYTHON) -m venv build/compat-venv
	build/compat-venv/bin/python -m pip install --quiet 'numpy==2.0.2' 'pandas==2.2.3' \
		python-calamine xlsxwriter defusedxml pytest hypothesis
	build/compat-venv/bin/python -m pip install --quiet --no-deps -e .
	build/compat-venv/bin/pytest -q -m "not libreoffice" tests/core

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache
