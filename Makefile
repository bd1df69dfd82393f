# The two commands of the README: `make run` and `make test`.
# Both create their own virtual environment in .venv on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck pytest clean bench

run: $(STAMP)
	$(BIN)/luxserv serve --demo

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check luxserv tests
	$(BIN)/ruff format --check luxserv tests

typecheck: $(STAMP)
	$(BIN)/mypy luxserv

# The suite runs on every CPU (pytest-xdist; each test file runs whole on one worker); the crash test, which starts its own
# PostgreSQL cluster and kills processes on a schedule, and the benchmark smoke tests (which run their own event
# loops and servers) then run alone, so other tests neither starve nor disturb them.
PYTEST_WORKERS ?= auto
JUNIT ?=
pytest: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --ignore=tests/crash --ignore=tests/bench $(if $(JUNIT),--junitxml=$(JUNIT)/junit.xml) $(PYTEST_ARGS)
	$(BIN)/pytest tests/crash tests/bench $(if $(JUNIT),--junitxml=$(JUNIT)/junit-serial.xml)

# Benchmarks (bench/README.md): not part of `make test`. Runs all three, then fails if any missed a target.
bench: $(STAMP)
	@status=0; $(BIN)/python -m bench.webhooks || status=1; $(BIN)/python -m bench.sync || status=1; \
	  $(BIN)/python -m bench.dashboards || status=1; exit $$status

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "LuxServ needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
