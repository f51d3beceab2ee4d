# The commands README promises. Every target creates the virtual environment it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
DEMO_DATABASE_URL ?= sqlite:///var/demo.db
REGISTRY_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
export REGISTRY_TEST_DATABASE_URL

.PHONY: install npm-install serve test test-sqlite contract contract-deep clean

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

## Run every test on SQLite and PostgreSQL (REGISTRY_TEST_DATABASE_URL).
test: install
	@mkdir -p test-results
	$(BIN)/pytest --junitxml=test-results/pytest.xml

## Only SQLite (no PostgreSQL needed).
test-sqlite: install
	REGISTRY_TEST_DATABASE_URL= $(BIN)/pytest -k "not postgres"

## The live contract run: the production stack (gunicorn, 2 workers, PostgreSQL) over real HTTP,
## the Schemathesis CLI over both APIs (contract_tests/live/). DROPS CONTRACT_DATABASE_URL's
## database first. contract-deep: ten times the examples, a random seed (not in CI).
CONTRACT_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/registry_contract
CONTRACT_PORT ?= 8765
export CONTRACT_DATABASE_URL CONTRACT_PORT

contract: install
	bash contract_tests/live/run.sh

contract-deep: install
	CONTRACT_DEEP=1 bash contract_tests/live/run.sh

clean:
	rm -rf $(VENV) node_modules var test-results .pytest_cache .hypothesis
