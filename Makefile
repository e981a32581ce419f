# Entry points for developers and CI. Every target that runs Python first runs `setup`, which
# installs only what is missing and takes well under two seconds when nothing is.
#
#   make test PYTEST_ARGS='-m "not integration" -x'
#   make run  RUN_ARGS='--help'

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV := .venv
PYTHON := $(VENV)/bin/python
PYTEST_ARGS ?=
RUN_ARGS ?=

LINT_PATHS := harness fake_services tests scenarios scripts benchmarks

.PHONY: help setup lock test run lint bench versions clean

help:
	@echo 'make setup     install missing prerequisites (apt packages, toxiproxy, .venv); idempotent'
	@echo 'make lock      write requirements.lock again from pyproject.toml (LOCK_ARGS=--upgrade)'
	@echo 'make test      setup, then all tests (unit + integration); PYTEST_ARGS=..., TEST_WORKERS=2'
	@echo 'make run       setup, then the conformance suite (wrkh run); extra args: RUN_ARGS=...'
	@echo 'make lint      setup, then ruff check, ruff format --check and mypy'
	@echo 'make bench     setup, then every benchmark in turn (about 23 min; quiet machine)'
	@echo 'make versions  print the versions of the tools the harness runs'
	@echo 'make clean     remove generated reports (README.md stays) and tool caches'

setup:
	@bash scripts/setup.sh

# requirements.lock pins every Python package `make setup` and CI install, with the hashes of
# their files, for Python 3.11. After changing dependencies in pyproject.toml run `make lock`
# (keeps every pin that still fits; `make lock LOCK_ARGS=--upgrade` moves all to the newest)
# and commit both files; the next `make setup` installs exactly what the lock says.
LOCK_ARGS ?=
lock: setup
	CUSTOM_COMPILE_COMMAND='make lock' $(VENV)/bin/pip-compile --quiet --extra dev \
		--build-deps-for editable --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-find-links --output-file requirements.lock $(LOCK_ARGS) pyproject.toml

# A test that hangs fails after TEST_TIMEOUT_S with its stack, instead of using up CI's budget.
# Only here: conformance scenarios at real time scale run for many minutes.
TEST_TIMEOUT_S ?= 900

# Test files are spread over TEST_WORKERS processes, each file whole on one worker (its module
# fixtures, such as a shared stack, start once). Most integration time is spent waiting on
# scrapes and rule evaluations, so two workers share two cores well. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
ifeq ($(TEST_WORKERS),0)
PARALLEL :=
else
PARALLEL := -n $(TEST_WORKERS) --dist loadfile
endif

# pytest exits 5 when it collects nothing: a wrong path or a broken plugin would otherwise
# look like a pass in a log that is only skimmed, so say it plainly.
test: setup
	$(info $(PYTHON) -m pytest tests -p no:locust --timeout=$(TEST_TIMEOUT_S) $(PARALLEL) $(PYTEST_ARGS))
	@rc=0; $(PYTHON) -m pytest tests -p no:locust --timeout=$(TEST_TIMEOUT_S) $(PARALLEL) $(PYTEST_ARGS) || rc=$$?; \
	if [[ $$rc -eq 5 ]]; then \
		echo 'make test: FAILED, pytest ran no tests (exit 5: nothing collected, or all deselected)' >&2; \
	fi; \
	exit $$rc

run: setup
	$(VENV)/bin/wrkh run $(RUN_ARGS)

# All three linters run even when one fails, so a single pass shows every problem.
lint: setup
	@rc=0; \
	echo '$(VENV)/bin/ruff check $(LINT_PATHS)'; \
	$(VENV)/bin/ruff check $(LINT_PATHS) || rc=1; \
	echo '$(VENV)/bin/ruff format --check $(LINT_PATHS)'; \
	$(VENV)/bin/ruff format --check $(LINT_PATHS) || rc=1; \
	echo '$(VENV)/bin/mypy'; \
	$(VENV)/bin/mypy || rc=1; \
	if [[ $$rc -ne 0 ]]; then echo 'make lint: FAILED' >&2; fi; \
	exit $$rc

bench: setup
	$(PYTHON) benchmarks/run_all.py

versions:
	@bash scripts/versions.sh

# Keeps .venv and tools/ (slow to rebuild); removes outputs and caches only.
clean:
	@if [[ -d reports ]]; then \
		find reports -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +; \
	fi
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . \( -path ./.venv -o -path ./tools -o -path ./.git \) -prune \
		-o -type d -name __pycache__ -exec rm -rf {} +
