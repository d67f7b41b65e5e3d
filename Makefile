# The two commands of the README: `make local` runs the app, `make test` passes the tests.
# Each user-facing target has a line `## <target>: <what it does>` above it: `make help` prints them.
# ARGS may hold passwords (a move's URLs, --secret-config): the commands given it are not echoed, and get it as typed
# ($(value ARGS): make would expand a `$` in a password).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Checkov pins libraries that clash with Pulumi's, so it lives in a venv of its own.
CHECKOV := .venv-checkov/bin/checkov
# A real helm renders the PostgreSQL chart for the tests and the offline render; offline/helm.py pins it by sha256.
HELM := $(BIN)/helm

.PHONY: help local test lint bench bench-move image parity plan footprint move clean
STACK ?= k8s

$(STAMP): requirements.txt infra/requirements.txt requirements-dev.txt app/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit("paasport needs Python 3.11 or newer" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(CHECKOV):
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet --disable-pip-version-check checkov==3.3.30

$(HELM): offline/helm.py | $(STAMP)
	$(BIN)/python -m offline.helm --install

## help: list the targets below and what each does
help:
	@echo 'make <target>, where <target> is one of:'
	@awk '/^## [a-z-]+: / { name = substr($$2, 1, length($$2) - 1); sub(/^## [a-z-]+: /, ""); printf "  %-11s %s\n", name, $$0 }' $(firstword $(MAKEFILE_LIST))

## local: serve the app on http://localhost:5000 (or $PORT) with an embedded PostgreSQL (or $DATABASE_URL)
local: $(STAMP)
	$(BIN)/python -m devenv.local

## test: lint, then every test (real PostgreSQL, the app's real server, headless Chromium when installed)
test: $(STAMP) $(CHECKOV) $(HELM) lint
	$(BIN)/python -m pytest

## lint: ruff on the Python code, hadolint on app/Dockerfile (make test runs it first)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/hadolint --config app/.hadolint.yaml app/Dockerfile

## bench: the deployed app vs the original article's and vs hello world, and at 200 vs 1,000,000 actors (needs wrk)
# wrk is checked before anything is installed: the bench cannot run without it.
bench:
	@command -v wrk >/dev/null 2>&1 || { echo "bench: wrk is not installed: sudo apt-get install wrk (Debian/Ubuntu), brew install wrk (macOS)" >&2; exit 2; }
	@$(MAKE) --no-print-directory $(STAMP)
	$(BIN)/python -m bench.run

## bench-move: the move against `pg_dump -Fc | pg_restore` on 1 GB, and --online at 100 MB and 1 GB under a writer
bench-move: $(STAMP)
	@$(BIN)/python -m bench.move $(value ARGS)

## image: the app image as built now vs as it was: size, start time, memory, packages (needs buildah, podman, runc, mmdebstrap, wrk)
image:
	@command -v wrk >/dev/null 2>&1 || { echo "image: wrk is not installed: sudo apt-get install wrk" >&2; exit 2; }
	@$(MAKE) --no-print-directory $(STAMP)
	$(BIN)/python -m bench.image

## parity: what each platform gives the app, a row per capability (ARGS="--markdown" or "--json")
parity: $(STAMP)
	@$(BIN)/python -m offline.parity $(value ARGS)

## plan: what a stack would create, offline (STACK=k8s, heroku or cluster; ARGS="--json" or "--render DIR")
plan: $(STAMP) $(HELM)
	@$(BIN)/python -m offline.plan --stack $(STACK) $(value ARGS)

## footprint: what the cluster stack's platform requests, per component, and whether it fits 3 small nodes
footprint: $(STAMP) $(HELM)
	@$(BIN)/python -m offline.cluster $(value ARGS)

## move: move a client's database between stacks or servers (ARGS="--from SRC --to DST [--check] [--online] [--revert] [--yes]")
move: $(STAMP)
	@$(BIN)/python -m move $(value ARGS)

## clean: remove the virtualenvs, make local's database (.local/) and the tools' caches
clean:
	rm -rf $(VENV) .venv-checkov .local .pytest_cache .ruff_cache
