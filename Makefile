# make run: the whole service on http://127.0.0.1:8000 (embedded PostgreSQL and Redis unless
#           DATABASE_URL / REDIS_URL are set).   make test: lint, types and the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCKS := requirements/runtime.lock requirements/dev.lock
# The stamp names both locks' hash: a change to either reinstalls.
STAMP := $(VENV)/.installed-$(shell cat $(LOCKS) 2>/dev/null | sha1sum | cut -c1-12)
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links

.PHONY: install run test lint bench screenshots lock clean

install: $(STAMP)

$(STAMP): $(LOCKS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements/runtime.lock -r requirements/dev.lock
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
	$(BIN)/python -m tests.bench.reminders $(REMINDER_BENCH_ARGS)
	$(BIN)/python -m tests.bench.matching $(MATCHING_BENCH_ARGS)
	$(BIN)/python -m tests.bench.followups $(FOLLOW_UP_BENCH_ARGS)

screenshots: install
	$(BIN)/python -m tests.browser.screenshots

# Re-pin every dependency (after editing pyproject.toml): the runtime lock (what the image
# installs) first, then the development lock, held to the runtime lock's versions.
lock: install
	$(PIP_COMPILE) -o requirements/runtime.lock pyproject.toml
	$(PIP_COMPILE) --extra dev -c requirements/runtime.lock -o requirements/dev.lock pyproject.toml

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
