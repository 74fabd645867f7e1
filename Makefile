# Every developer task. `make help` lists them. CI runs `make test` (see .ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export REJOINDER_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
export REJOINDER_TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: help run install install-test chromium widget test test-fast lint fuzz faults soak bench bench-scale clean

help: ## List the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python ## Install Rejoinder into .venv
	$(BIN)/pip install -q -e .

run: install ## Install and start the server on SQLite (demo at http://127.0.0.1:8000/demo)
	REJOINDER_ENV=$${REJOINDER_ENV:-development} $(BIN)/rejoinder serve --port $(PORT)

install-test: $(BIN)/python ## Install what the tests need (Python extras, Chromium, widget deps)
	$(BIN)/pip install -q -e '.[test]'
	@$(MAKE) --no-print-directory chromium widget

chromium: ## Install Debian's Chromium, nginx and wrk (browser, scale-out and load tests) when missing
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium"; \
	  [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; command -v wrk >/dev/null || missing="$$missing wrk"; \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

widget: ## Install the widget's build and test tools (npm)
	@if [ -f widget/package-lock.json ]; then cd widget && npm ci --no-audit --no-fund --loglevel=error; fi

lint: ## ruff and mypy --strict
	$(BIN)/ruff check src tests
	$(BIN)/mypy src/rejoinder

test: install-test lint ## Install test needs and run every test (what CI runs)
	@if [ -f widget/package.json ]; then cd widget && node --test test/; fi
	$(BIN)/pytest

test-fast: ## Unit tests and SQLite integration tests only
	$(BIN)/pytest -m "not postgres and not redis and not browser and not slow and not e2e" -q

fuzz: install-test ## Long fuzz runs: schemathesis on the API (both databases), atheris on markup
	SCHEMATHESIS_MAX_EXAMPLES=$${SCHEMATHESIS_MAX_EXAMPLES:-500} \
	  FUZZ_MARKUP_SECONDS=$${FUZZ_MARKUP_SECONDS:-600} $(BIN)/pytest tests/fuzz -q -s

faults: install-test ## Fault injection: kill -9, PostgreSQL outage and real restart, Redis and SMTP down
	$(BIN)/pytest -m "" -q -s tests/integration/test_crash_durability.py \
	  tests/integration/test_pg_outage.py tests/integration/test_redis_outage.py \
	  tests/integration/test_redis_scaleout.py \
	  tests/integration/test_notifications.py

soak: install-test ## Steady mixed load for SOAK_MINUTES (20): no errors, flat memory (bench/soak.py)
	$(BIN)/python bench/soak.py

bench: install-test ## Benchmarks: print a table (see bench/)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/moderation_bench.py
	$(BIN)/python bench/perspective_bench.py
	$(BIN)/python bench/import_bench.py --comments $${IMPORT_COMMENTS:-1000000}
	@if [ -n "$$BENCH_SCALE" ]; then $(MAKE) --no-print-directory bench-scale; \
	  else echo "bench-scale skipped (~15 min, ~8 GB of disk while it runs): BENCH_SCALE=1 make bench"; fi

bench-scale: install ## Thread reads at 10 thousand and 10 million comments (PostgreSQL; bench/scale_bench.py)
	$(BIN)/python bench/scale_bench.py --large $${SCALE_COMMENTS:-10000000}

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
