# vaxslot — `make run` starts everything locally, `make test` runs every test. `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := help
.PHONY: help run test test-fast lint lock screenshots bench capacity rush mail package deploy check-limits browser-deps site-deps clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's|$$(STAGE)|$(STAGE)|g; s|$$(VENV)|$(VENV)|g' \
	  | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# Installs only what the hashed locks name (`make lock` writes them from requirements*.txt).
CHECKOV_VENV := $(VENV)/checkov-venv
# pip installs only uv (from its own hashed lock); uv installs the rest, a few times faster than pip would.
UV := $(VENV)/bin/uv
$(STAMP): requirements-uv.lock requirements.lock requirements-dev.lock requirements-checkov.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-uv.lock
	$(UV) pip install --quiet --require-hashes --python $(PY) -r requirements-dev.lock
	@echo "Installing checkov into $(CHECKOV_VENV) (its own venv: it pins boto3 and packaging versions of its own)"
	test -x $(CHECKOV_VENV)/bin/python || $(PY) -m venv $(CHECKOV_VENV)
	$(UV) pip install --quiet --require-hashes --python $(CHECKOV_VENV)/bin/python -r requirements-checkov.lock
	touch $(STAMP)

# Runtime first: the dev lock is resolved within it, so the tests run the versions that are deployed.
LOCK_FLAGS ?=
UV_COMPILE = $(UV) pip compile --quiet --generate-hashes --python-version 3.11 \
	--custom-compile-command "make lock" $(LOCK_FLAGS)
lock: $(STAMP) ## Re-resolve requirements*.txt into the hashed requirements*.lock (LOCK_FLAGS=--upgrade to refresh)
	$(UV_COMPILE) requirements-uv.txt -o requirements-uv.lock
	$(UV_COMPILE) --python-platform x86_64-manylinux_2_17 requirements.txt -o requirements.lock
	$(UV_COMPILE) requirements-dev.txt -c requirements.lock -o requirements-dev.lock
	$(UV_COMPILE) requirements-checkov.txt -o requirements-checkov.lock

lint: $(STAMP) ## ruff (lint, format) and mypy as configured in pyproject.toml
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check . || status=1; \
	$(VENV)/bin/mypy || status=1; \
	exit $$status

run: $(STAMP) ## Start local AWS, API, queue workers and site on loopback (Ctrl-C stops)
	$(PY) -m infra.local.run

mail: $(STAMP) ## Show the mails sent by the running `make run`
	$(PY) -m infra.local.mail

browser-deps: ## Install Debian's chromium for the browser tests if it is missing
	@command -v chromium >/dev/null || { \
	  echo "Installing chromium (Debian package) for the browser tests"; \
	  sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null; }

# esbuild, exactly as infra/site/package-lock.json pins it, for the deployed site's bundle (infra/site_bundle.py).
# --ignore-scripts: esbuild's install script only swaps its launcher for the binary; the launcher finds it as is.
SITE_TOOLS := infra/site/node_modules/.installed
$(SITE_TOOLS): infra/site/package.json infra/site/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node 20) is needed to bundle the site: apt-get install nodejs npm"; exit 1; }
	cd infra/site && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@
site-deps: $(SITE_TOOLS) ## Install esbuild (pinned by infra/site/package-lock.json) to bundle the deployed site

# Lint first (ruff check, ruff format --check, mypy): a red lint stops the run before the slow tests.
test: $(STAMP) browser-deps $(SITE_TOOLS) ## Lint (ruff check and format, mypy), then install what tests need and run them all
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest

screenshots: $(STAMP) browser-deps ## Run the browser tests and refresh docs/screenshots/
	VAXSLOT_SCREENSHOTS=docs $(PY) -m pytest tests/browser

test-fast: $(STAMP) ## Unit tests only (no AWS, no browser)
	$(PY) -m pytest tests/unit

bench: $(STAMP) ## Measure issue #9's goals on the local stack (a few minutes); writes docs/benchmarks.md
	$(PY) -m infra.bench

capacity: $(STAMP) ## Print the capacity and cost model for the 2021 peak and 10x (docs/capacity.md)
	$(PY) -m infra.capacity

RUSH_ARGS ?=
rush: $(STAMP) ## Replay launch day on loopback (locust), print the invariant and fairness report, plot to build/rush (RUSH_ARGS="--users 300 ...")
	$(PY) -m infra.rush $(RUSH_ARGS)

STAGE ?= prod
package: $(STAMP) $(SITE_TOOLS) ## Write build/<stage>/sam.json + deployment.zip for CloudFormation and the bundled site/ (STAGE=dev|prod, default prod)
	$(PY) -m infra.aws package --stage $(STAGE) --out build/$(STAGE)

# Deploying takes every choice explicitly: no default stage, account, bucket or sender (docs/operations.md).
DEPLOY_ARGS = --stage $(if $(filter command line environment,$(origin STAGE)),$(STAGE),$(error say STAGE=dev|prod)) \
	--account $(or $(ACCOUNT),$(error say ACCOUNT=<the AWS account id the credentials must belong to>))
deploy: $(STAMP) $(SITE_TOOLS) ## Check limits, package, deploy via S3, upload the bundled site (STAGE= ACCOUNT= BUCKET= MAIL_SENDER= PRIVACY_CONTROLLER= PRIVACY_CONTACT= [SITE_DOMAIN=] [EXISTING_MAIL_IDENTITY=1])
	$(PY) -m infra.aws.deploy $(DEPLOY_ARGS) \
	  --bucket $(or $(BUCKET),$(error say BUCKET=<S3 bucket for the artifacts>)) \
	  --mail-sender $(or $(MAIL_SENDER),$(error say MAIL_SENDER=<from address>)) \
	  --privacy-controller "$(PRIVACY_CONTROLLER)" --privacy-contact "$(PRIVACY_CONTACT)" \
	  $(if $(SITE_DOMAIN),--site-domain $(SITE_DOMAIN)) $(if $(EXISTING_MAIL_IDENTITY),--existing-mail-identity)

check-limits: $(STAMP) ## Check the account's limits for a stage (STAGE= ACCOUNT=; needs credentials)
	$(PY) -m infra.aws.deploy $(DEPLOY_ARGS) --check-limits

# A stage's centres from a file (infra/ops/centres.py; the example: infra/ops/centres-example.json).
.PHONY: centres
centres: $(STAMP) ## Validate and load a stage's centres, idempotently (STAGE= ACCOUNT= FILE=centres.json|.csv [DRY_RUN=1])
	$(PY) -m infra.ops.centres load $(or $(FILE),$(error say FILE=<centres .json or .csv>)) $(DEPLOY_ARGS) \
	  $(if $(DRY_RUN),--dry-run)

# The rush scenario against a deployed stack; refuses prod (infra/loadtest/guard.py; runbook: docs/operations.md).
.PHONY: loadtest
LOADTEST_ARGS ?=
loadtest: $(STAMP) ## Staged load test of a deployed stack, never prod by accident (STAGE= ACCOUNT= URL= CAMPAIGN= [LOADTEST_ARGS="--users 500"])
	$(PY) -m infra.loadtest $(DEPLOY_ARGS) --url $(or $(URL),$(error say URL=<the stage's EndpointURL>)) \
	  --campaign $(or $(CAMPAIGN),$(error say CAMPAIGN=<an open campaign of the stage>)) $(LOADTEST_ARGS)

clean: ## Remove the virtualenv and build output
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache infra/site/node_modules
