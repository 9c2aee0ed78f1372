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

PIP := $(BIN)/python -m pip --disable-pip-version-check --no-input

# $(call step,WHAT,COMMAND): a heading, then COMMAND with its output on the terminal and in
# the log, and a line every 10 s while it runs, so that a new user never stares at a silent
# terminal (pip says nothing while it unpacks, a turn of the model can take a while on a busy
# machine). The ticker is a plain loop in the background, stopped when COMMAND ends.
define step
	@mkdir -p $(dir $(DEMO_LOG)) && printf '==> %s\n' "$(1)" | tee -a $(DEMO_LOG)
	@started=$$(date +%s); \
	while sleep 10; do \
	  printf '    ... still %s (%ss)\n' "$(1)" $$(( $$(date +%s) - started )) | tee -a $(DEMO_LOG); \
	done & ticker=$$!; \
	$(2) 2>&1 | tee -a $(DEMO_LOG); status=$$?; kill $$ticker; exit $$status
endef

.PHONY: demo test lint typecheck unit bench clean

demo: $(VENV)/.installed-demo
	$(call step,running a real task on the embedded local model,$(BIN)/taskline demo)

test: lint typecheck unit

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# The suite runs in parallel (pytest-xdist). Its tests mostly wait on processes, servers
# and fsync, so more workers than cores pay: on two cores the suite took about 17 min
# serially, 9.2 min on 3 workers and 8.5 min on 4 (2 workers were past 11 min at 98%).
# worksteal: a worker that runs out of tests takes queued ones from a busy one, so the
# long tests of test_durable.py (2-3 min each) do not leave one worker far behind.
TEST_WORKERS ?= 4

unit: $(VENV)/.installed-dev
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_moves.py

$(BIN)/python:
	$(call step,creating the virtual environment $(VENV),$(PYTHON) -m venv $(VENV))
	$(call step,upgrading pip in $(VENV),$(PIP) install --upgrade pip)

# Reinstall only when the dependencies change. The model file is fetched once per machine
# (checked against its pinned sha256) and kept in the user's cache, not in .venv.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	$(BIN)/taskline model fetch
	touch $@

# Two installs, so that neither is silent for long while pip unpacks what it fetched.
$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(call step,installing taskline and its dependencies,$(PIP) install -e .)
	$(call step,installing the llama.cpp runtime,$(PIP) install -e '.[local]')
	$(call step,fetching the local model file (once per machine),$(BIN)/taskline model fetch)
	@touch $@

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
