# The commands README promises. Every target creates the virtual environment it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
DEMO_DATABASE_URL ?= sqlite:///var/demo.db
REGISTRY_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
export REGISTRY_TEST_DATABASE_URL

.PHONY: install npm-install serve test test-sqlite clean bench bench-full bench-scale wrk

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

## Benchmarks (bench/, README "Benchmarks"): Registry against a floor app on 127.0.0.1.
## SQLite by default; PostgreSQL with DATABASE_URL=postgresql://... (a database per data-set
## size is created next to it: <name>_<objects>x<files>). Results go to bench/results/.
BENCH_ARGS ?=

$(VENV)/.bench-installed: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $@

wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

## The quick profile (10 k and 100 k objects, a few minutes); bench-full: longer turns.
bench: $(VENV)/.bench-installed wrk
	$(BIN)/python -m bench --quick $(BENCH_ARGS)

bench-full: $(VENV)/.bench-installed wrk
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-scale: $(VENV)/.bench-installed wrk
	$(BIN)/python -m bench --scale $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules var test-results .pytest_cache .hypothesis
