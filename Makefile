# make run: the whole service on http://127.0.0.1:8000 (embedded PostgreSQL and Redis unless
#           DATABASE_URL / REDIS_URL are set).   make test: lint, types and the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.lock 2>/dev/null | cut -c1-12)

.PHONY: install run test lint bench screenshots lock clean

install: $(STAMP)

$(STAMP): requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@rm -f $(VENV)/.installed-* && touch $@

run: install
	$(BIN)/python -m service run

lint: install
	$(BIN)/ruff check service workers tests migrations
	$(BIN)/ruff format --check service workers tests migrations
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

screenshots: install
	$(BIN)/python -m tests.browser.screenshots

# Re-pin every dependency (after editing pyproject.toml).
lock: install
	$(BIN)/pip-compile --quiet --extra dev --generate-hashes --allow-unsafe --strip-extras -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
