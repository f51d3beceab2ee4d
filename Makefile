# The commands README promises. Every target creates the virtual environment it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
DEMO_DATABASE_URL ?= sqlite:///var/demo.db
REGISTRY_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
export REGISTRY_TEST_DATABASE_URL

.PHONY: install npm-install serve test test-sqlite clients clean

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

## The generator (its jar ships in the PyPI wheel; needs Java 11+) and the generated client's
## run-time libraries: the `clients` extra of pyproject.toml.
$(VENV)/.clients-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test,clients]"
	touch $@

## Generate Python and TypeScript clients from the served specs into build/clients/, call every
## operation through the Python ones against a live demo server, type-check the TypeScript ones.
clients: $(VENV)/.clients-installed npm-install
	BIN=$(BIN) bash clients/run.sh

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

clean:
	rm -rf $(VENV) node_modules var test-results .pytest_cache .hypothesis build/clients
