# The two commands a new user needs: `make demo` and `make test`.
# Both create .venv when it is missing and install what they need into it. Nothing
# compiles: every dependency, the llama.cpp runtime included, comes as a prebuilt wheel.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# What `make demo` shows is also kept here, so a slow or failed first run can be read later.
DEMO_LOG ?= build/demo.log

SHELL := /bin/bash
# A step piped into `tee` fails when the step fails, not only when tee does.
.SHELLFLAGS := -o pipefail -c

# pip prints each package as it collects and installs it: a new user sees progress, never
# a silent terminal. `say` prints a step's heading to the terminal and the log.
PIP := $(BIN)/python -m pip --disable-pip-version-check --no-input
say = @mkdir -p $(dir $(DEMO_LOG)) && printf '==> %s\n' "$(1)" | tee -a $(DEMO_LOG)
logged = 2>&1 | tee -a $(DEMO_LOG)

.PHONY: demo test lint typecheck unit bench clean

demo: $(VENV)/.installed-demo
	$(call say,running a real task on the embedded local model (taskline demo))
	@$(BIN)/taskline demo $(logged)

test: lint typecheck unit

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

unit: $(VENV)/.installed-dev
	$(BIN)/pytest

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_moves.py

$(BIN)/python:
	$(call say,creating the virtual environment $(VENV))
	@$(PYTHON) -m venv $(VENV) $(logged)
	@$(PIP) install --upgrade pip $(logged)

# Reinstall only when the dependencies change. The model file is fetched once per machine
# (checked against its pinned sha256) and kept in the user's cache, not in .venv.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	$(BIN)/taskline model fetch
	touch $@

# Two installs, so that neither is silent for long while pip unpacks what it fetched.
$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(call say,installing taskline and its dependencies (prebuilt wheels; about 15 s))
	@$(PIP) install -e . $(logged)
	$(call say,installing the llama.cpp runtime (a prebuilt wheel of 34 MB))
	@$(PIP) install -e '.[local]' $(logged)
	$(call say,fetching the local model file (once per machine))
	@$(BIN)/taskline model fetch $(logged)
	@touch $@

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
