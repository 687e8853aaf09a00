# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make demo   - create .venv, install, run the main job on built-in synthetic CRM data
#   make test   - same set-up plus dev extras, run the whole test suite
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
BENCHSTAMP := $(VENV)/.installed-bench

export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo test system-deps lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEVSTAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,spark]"
	touch $@

$(BENCHSTAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e ".[bench]"
	touch $@

demo: $(STAMP)
	$(BIN)/leadscore demo

system-deps:
	bash scripts/install-system-deps.sh

test: $(DEVSTAMP) system-deps
	$(BIN)/python -m pytest

lint: $(DEVSTAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEVSTAMP)
	$(BIN)/mypy

bench: $(BENCHSTAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache demo-output
