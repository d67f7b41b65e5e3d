# The two commands of the README: `make local` runs the app, `make test` passes the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: local test lint clean

$(STAMP): requirements.txt requirements-dev.txt app/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit("paasport needs Python 3.11 or newer" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## local: serve the app on http://localhost:$${PORT:-5000} with an embedded PostgreSQL (or $$DATABASE_URL)
local: $(STAMP)
	$(BIN)/python -m devenv.local

## test: lint, then every test (real PostgreSQL, real gunicorn, headless Chromium when installed)
test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/hadolint --config app/.hadolint.yaml app/Dockerfile

clean:
	rm -rf $(VENV) .local .pytest_cache .ruff_cache
