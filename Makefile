# The commands README promises. Every target creates the virtual environment it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
DEMO_DATABASE_URL ?= sqlite:///var/demo.db
REGISTRY_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
export REGISTRY_TEST_DATABASE_URL

.PHONY: install npm-install lint serve test test-sqlite clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

## Node tools (Spectral, TypeScript, the Redoc bundle), pinned by package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

npm-install: node_modules/.installed

## Lint both specs (README, "Spec lint"): openapi-spec-validator, then Spectral with .spectral.yaml,
## over the documents the server publishes (written to LINT_DIR) and over the sources in spec/.
## Any error or warning fails.
LINT_DIR ?= var/lint
SPECTRAL := node_modules/.bin/spectral lint --ruleset .spectral.yaml --fail-severity warn
SPEC_SOURCES := spec/member_api_v3.yaml spec/admin_api_v3.yaml
lint: install npm-install
	@rm -rf $(LINT_DIR)
	$(BIN)/python -m registry.spec_files $(LINT_DIR)
	$(BIN)/openapi-spec-validator $(LINT_DIR)/*.json $(LINT_DIR)/*.yaml $(SPEC_SOURCES)
	$(SPECTRAL) $(LINT_DIR)/*.yaml
	$(SPECTRAL) $(SPEC_SOURCES)

## Serve the demo on SQLite: migrate, seed if new, print a demo key, serve on HOST:PORT.
serve: install
	@mkdir -p var
	@DATABASE_URL=$(DEMO_DATABASE_URL) $(BIN)/registry seed --demo --if-empty
	@echo ""
	@echo "Registry demo on http://$(HOST):$(PORT)   docs: http://$(HOST):$(PORT)/docs"
	@echo "  member key:   X-Pharos-API-User: user@example.edu"
	@echo "                X-Pharos-API-Key:  $$(DATABASE_URL=$(DEMO_DATABASE_URL) $(BIN)/registry keys issue --email user@example.edu)"
	@echo "  sysadmin key: X-Pharos-API-User: admin@aptrust.org"
	@echo "                X-Pharos-API-Key:  $$(DATABASE_URL=$(DEMO_DATABASE_URL) $(BIN)/registry keys issue --email admin@aptrust.org)"
	@echo ""
	DATABASE_URL=$(DEMO_DATABASE_URL) $(BIN)/registry serve --host $(HOST) --port $(PORT)

## Run every test on SQLite and PostgreSQL (REGISTRY_TEST_DATABASE_URL), the two backends
## side by side in TEST_WORKERS pytest-xdist workers (tests/parallel.py; TEST_WORKERS=0: one process).
TEST_WORKERS ?= 2
test: install npm-install
	@mkdir -p test-results
	$(BIN)/pytest -n $(TEST_WORKERS) --junitxml=test-results/pytest.xml

## Only SQLite (no PostgreSQL needed).
test-sqlite: install npm-install
	REGISTRY_TEST_DATABASE_URL= $(BIN)/pytest -k "not postgres"

clean:
	rm -rf $(VENV) node_modules var test-results .pytest_cache .hypothesis
