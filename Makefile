# The commands README promises. Every target creates the virtual environment it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
DEMO_DATABASE_URL ?= sqlite:///var/demo.db
REDOC_BUNDLE := registry/redoc-bundle/redoc.standalone.js
REGISTRY_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
export REGISTRY_TEST_DATABASE_URL

.PHONY: install upgrade-deps npm-install lint spec-check release sdk format lint-repeat serve test test-sqlite browser-deps browser-test clients contract contract-deep faults bench bench-full bench-scale wrk clean

## Every Python dependency, of every extra, at the version and hashes of requirements.lock (what
## CI tested); then the project itself, editable, built by the locked setuptools.
$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed $(REDOC_BUNDLE)

## Refresh requirements.lock to the newest releases pyproject.toml allows, install them, and run
## the lint and the tests on them (README, "Dependencies").
LOCK_COMPILE = $(BIN)/uv pip compile pyproject.toml build-requirements.in --all-extras \
	--generate-hashes --universal --python-version 3.11 --no-header -o requirements.lock
upgrade-deps: $(VENV)/.installed
	$(LOCK_COMPILE) --upgrade
	$(MAKE) install lint test


## Node tools (Spectral, TypeScript, the Redoc bundle), pinned by package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

npm-install: node_modules/.installed

## Lint the Python (ruff check, ruff format --check) and both specs (README, "Lint"):
## openapi-spec-validator, then Spectral with .spectral.yaml
## over the self-contained documents the server publishes (written to LINT_DIR), each finding
## named at its file and line in spec/ (registry/spec/lint.py). Any error or warning fails.
LINT_DIR ?= var/lint
SPEC_SOURCES := spec/member_api_v3.yaml spec/admin_api_v3.yaml
lint: install npm-install
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --check --no-cache .
	@rm -rf $(LINT_DIR)
	$(BIN)/python -m registry.spec.files $(LINT_DIR)
	$(BIN)/openapi-spec-validator $(LINT_DIR)/*.json $(LINT_DIR)/*.yaml $(SPEC_SOURCES)
	$(BIN)/python -m registry.spec.lint $(LINT_DIR)

## The breaking-change gate (README, "Releases and the breaking-change gate"): the published
## documents against the latest release in spec/released/, the versions and CHANGELOG.md in step;
## then the member spec against the reference's (spec/reference-deviations.yaml).
spec-check: install
	$(BIN)/python -m registry.spec.release check
	$(BIN)/python -m registry.spec.reference

## Record a release: VERSION must be both specs' info.version, with a CHANGELOG.md section;
## refused for a breaking change without a major version.
release: install
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=x.y.z"; exit 2; }
	$(BIN)/python -m registry.spec.release release $(VERSION)

## Python: apply ruff's fixes and formatting (what `make lint` checks; pyproject.toml [tool.ruff]).
format: install
	$(BIN)/ruff check --fix --no-cache .
	$(BIN)/ruff format --no-cache .

## The lint's verdict is the same on every run of one tree: LINT_RUNS runs of `make lint`, their
## exit codes and outputs compared (README, "Lint"; not in CI).
LINT_RUNS ?= 30
lint-repeat: install npm-install
	bash .ci/lint-repeat $(LINT_RUNS)

## The Redoc bundle the app serves at /redoc, copied from npm's package into the (git-ignored)
## package directory the app reads it from: the docs never load it from a CDN.
$(REDOC_BUNDLE): node_modules/.installed
	mkdir -p $(dir $@)
	cp node_modules/redoc/bundles/redoc.standalone.js.LICENSE.txt $(dir $@)
	cp node_modules/redoc/bundles/redoc.standalone.js $@

## Generate Python and TypeScript clients from the served specs into build/clients/, call every
## operation through the Python ones against a live demo server, type-check the TypeScript ones.
clients: install npm-install
	BIN=$(BIN) bash clients/run.sh

## `make clients`, then the SDK: a wheel and an npm tarball per API in build/sdk/, versioned by
## the spec's info.version, installed into a clean virtualenv / npm project and smoke-tested
## against the live server (README, "SDK packages").
sdk: install npm-install
	SDK=1 BIN=$(BIN) bash clients/run.sh

## Serve the demo on SQLite: migrate, seed if new, print a demo key, serve on HOST:PORT.
serve: install
	@mkdir -p var
	@DATABASE_URL=$(DEMO_DATABASE_URL) $(BIN)/registry seed --demo --if-empty
	@echo ""
	@echo "Registry demo on http://$(HOST):$(PORT)   docs: http://$(HOST):$(PORT)/docs  and  /redoc"
	@echo "  member key:   X-Pharos-API-User: user@example.edu"
	@echo "                X-Pharos-API-Key:  $$(DATABASE_URL=$(DEMO_DATABASE_URL) $(BIN)/registry keys issue --email user@example.edu)"
	@echo "  sysadmin key: X-Pharos-API-User: admin@aptrust.org"
	@echo "                X-Pharos-API-Key:  $$(DATABASE_URL=$(DEMO_DATABASE_URL) $(BIN)/registry keys issue --email admin@aptrust.org)"
	@echo ""
	DATABASE_URL=$(DEMO_DATABASE_URL) $(BIN)/registry serve --host $(HOST) --port $(PORT)

## Run every test on SQLite and PostgreSQL (REGISTRY_TEST_DATABASE_URL), the two backends
## side by side in TEST_WORKERS pytest-xdist workers (tests/parallel.py; TEST_WORKERS=0: one process).
## (tests/test_reference_client.py generates the reference's own client: the `clients` extra,
## installed with every extra by `install`, and Java.)
TEST_WORKERS ?= 2
test: install npm-install
	@mkdir -p test-results
	$(BIN)/pytest -n $(TEST_WORKERS) --junitxml=test-results/pytest.xml

## Only SQLite (no PostgreSQL needed).
test-sqlite: install npm-install
	REGISTRY_TEST_DATABASE_URL= $(BIN)/pytest -k "not postgres"

## Debian's Chromium for the browser test (root and Debian's package mirror; skipped if present).
browser-deps:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

## Swagger UI and Redoc in headless Chromium against a served demo (screenshots in test-results/).
browser-test: install browser-deps
	@mkdir -p test-results
	$(BIN)/pytest browser_tests --junitxml=test-results/browser.xml

## The live contract run: the production stack (gunicorn, 2 workers, PostgreSQL) over real HTTP,
## the Schemathesis CLI over both APIs (contract_tests/live/). DROPS CONTRACT_DATABASE_URL's
## database first (by default a database and a free port of the run's own, dropped at its end).
## contract-deep: ten times the examples, a random seed (not in CI).

contract: install
	bash contract_tests/live/run.sh

contract-deep: install
	CONTRACT_DEEP=1 bash contract_tests/live/run.sh

## The fault suite (faults/, README "Faults under load"): registry serve --workers 2 on a private
## PostgreSQL 15 cluster it creates on a free port (pg_createcluster: root) and drops at its end,
## under a bounded load; the database stopped, frozen, a backend ended and killed, a worker
## killed, the master SIGTERMed. ~1-2 min; a table in test-results/faults.md. Without
## pg_createcluster or root it is skipped, except under CI=true, where that fails it.
faults: install
	@mkdir -p test-results
	$(BIN)/python -m faults

## Benchmarks (bench/, README "Benchmarks"): Registry against a floor app on 127.0.0.1.
## SQLite by default; PostgreSQL with DATABASE_URL=postgresql://... (a database per data-set
## size is created next to it: <name>_<objects>x<files>). Results go to bench/results/.
BENCH_ARGS ?=

wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

## The quick profile (10 k and 100 k objects, a few minutes); bench-full: longer turns.
bench: install wrk
	$(BIN)/python -m bench --quick $(BENCH_ARGS)

bench-full: install wrk
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-scale: install wrk
	$(BIN)/python -m bench --scale $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules registry/redoc-bundle var test-results .pytest_cache .hypothesis build/clients build/reference-client
