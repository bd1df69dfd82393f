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

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

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
