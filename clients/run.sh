#!/usr/bin/env bash
# make clients: serve the demo, generate a Python and a TypeScript client from each *served*
# spec, call every operation through the Python clients (clients/test_generated_clients.py) and
# type-check the TypeScript clients with tsc (strict). Everything it makes goes to build/clients/
# (git-ignored); the server it starts is stopped on any exit.
#
# make sdk (SDK=1): the same, then the SDK artifacts in build/sdk/ (git-ignored): a wheel and an
# npm tarball per API, versioned by the spec's info.version, each installed into a clean
# environment (a new virtualenv; a new npm project) and smoke-tested against the same server
# (clients/sdk_smoke.py, clients/sdk_smoke.cjs).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
OUT=build/clients  # the generator configs name it too
HOST=127.0.0.1
PORT=${CLIENTS_PORT:-$("$BIN/python" -m contract_tests.live.prepare free-port)}
URL="http://$HOST:$PORT"
GENERATOR="$BIN/openapi-generator-cli"

if ! command -v java >/dev/null; then
  echo "make clients needs Java 11+ for openapi-generator" >&2
  exit 1
fi

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }
fetch() {
  "$BIN/python" -c 'import sys, urllib.request
sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=5).read())' "$1"
}

rm -rf "$OUT"
mkdir -p "$OUT"
export DATABASE_URL="sqlite:///$PWD/$OUT/smoke.db"
# The served app's batch deletion secret (init_batch_delete): a fresh UUID per run.
REGISTRY_BATCH_DELETION_KEY=$("$BIN/python" -c 'import uuid; print(uuid.uuid4())')
export REGISTRY_BATCH_DELETION_KEY

step "serve an empty database on $URL"
if fetch "$URL/openapi.json" >/dev/null 2>&1; then
  echo "something already answers on $URL: stop it or set CLIENTS_PORT" >&2
  exit 1
fi
"$BIN/registry" db migrate >/dev/null
"$BIN/registry" serve --host "$HOST" --port "$PORT" --workers 0 >"$OUT/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  fetch "$URL/openapi.json" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$OUT/server.log"; exit 1; }
  sleep 0.5
done
fetch "$URL/openapi.json" >"$OUT/served-member.json"
fetch "$URL/admin-api/v3/openapi.json" >"$OUT/served-admin.json"
# The generator configs read member.json/admin.json: the served specs minus what the
# generator's parser cannot read (clients/generator_input.py says what and why).
for api in member admin; do
  "$BIN/python" clients/generator_input.py "$OUT/served-$api.json" "$OUT/$api.json"
done

VERSION=$("$BIN/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["info"]["version"])' \
  "$OUT/member.json")
# The generator configs, each package versioned by the spec (and the npm ones named).
mkdir -p "$OUT/generator"
for config in clients/generator/*.yaml; do
  name=$(basename "$config" .yaml)
  case "$name" in
    python-*) sed "s/^additionalProperties:$/additionalProperties:\n  packageVersion: \"$VERSION\"/" \
                "$config" >"$OUT/generator/$name.yaml" ;;
    typescript-*) { cat "$config"
                    printf 'additionalProperties:\n  npmName: registry-%s-client\n  npmVersion: "%s"\n' \
                      "${name#typescript-}" "$VERSION"; } >"$OUT/generator/$name.yaml" ;;
  esac
done

step "generate the clients (clients/generator/*.yaml, version $VERSION) while seeding the demo"
# One JVM for all four clients (batch mode). Nothing calls the server while the seed runs.
"$GENERATOR" batch --fail-fast --threads 2 "$OUT"/generator/*.yaml >"$OUT/generate.log" 2>&1 &
generator=$!
"$BIN/registry" seed --demo >/dev/null
member_key=$("$BIN/registry" keys issue --email user@example.edu)
inst_admin_key=$("$BIN/registry" keys issue --email admin@example.edu)
admin_key=$("$BIN/registry" keys issue --email admin@aptrust.org)
wait "$generator" || { tail -n 40 "$OUT/generate.log"; exit 1; }

step "authenticate the generated TypeScript client both ways (key headers, bearer token)"
# Before the Python steps, which end by revoking the member's key.
mkdir -p "$OUT/ts/checks"
cp clients/ts/*.ts "$OUT/ts/checks/"
# SDK=1 generates an npm package (its sources under src/), make clients the bare sources.
if [ -f "$OUT/ts/member/src/index.ts" ]; then
  sed -i 's#"\.\./member"#"../member/src"#' "$OUT/ts/checks/"*.ts
fi
cp clients/tsconfig.run.json "$OUT/ts/tsconfig.run.json"
cp clients/tsconfig.json "$OUT/ts/tsconfig.json"
node_modules/.bin/tsc --project "$OUT/ts/tsconfig.run.json"
REGISTRY_URL="$URL" REGISTRY_MEMBER_USER=user@example.edu REGISTRY_MEMBER_KEY="$member_key" \
  node "$OUT/ts/run/checks/auth_both_ways.js"

step "call every operation through the generated Python clients"
REGISTRY_URL="$URL" REGISTRY_CLIENTS_DIR="$OUT" \
  REGISTRY_MEMBER_USER=user@example.edu REGISTRY_MEMBER_KEY="$member_key" \
  REGISTRY_INST_ADMIN_USER=admin@example.edu REGISTRY_INST_ADMIN_KEY="$inst_admin_key" \
  REGISTRY_ADMIN_USER=admin@aptrust.org REGISTRY_ADMIN_KEY="$admin_key" \
  "$BIN/pytest" --noconftest -p no:cacheprovider -q clients/test_generated_clients.py

step "type-check the TypeScript clients (tsc --strict)"
cp clients/tsconfig.json "$OUT/ts/tsconfig.json"
node_modules/.bin/tsc --project "$OUT/ts/tsconfig.json"

if [ "${SDK:-0}" = 1 ]; then
  SDK_DIR="$PWD/build/sdk"
  rm -rf "$SDK_DIR"
  mkdir -p "$SDK_DIR"
  # A member key of its own: the Python clients' steps end by revoking $member_key.
  sdk_member_key=$("$BIN/registry" keys issue --email user@example.edu)
  export REGISTRY_URL="$URL" SDK_VERSION="$VERSION" \
    REGISTRY_MEMBER_USER=user@example.edu REGISTRY_MEMBER_KEY="$sdk_member_key" \
    REGISTRY_ADMIN_USER=admin@aptrust.org REGISTRY_ADMIN_KEY="$admin_key"

  step "SDK: build a wheel per API (version $VERSION)"
  for api in member admin; do
    "$BIN/pip" wheel --quiet --no-deps --no-build-isolation -w "$SDK_DIR" "$OUT/py-$api"
  done

  step "SDK: pack an npm tarball per API (compiled by the package's own build script)"
  for api in member admin; do
    ln -sfn "$PWD/node_modules" "$OUT/ts/$api/node_modules"  # the project's TypeScript
    (cd "$OUT/ts/$api" && npm pack --silent --pack-destination "$SDK_DIR" >/dev/null)
    rm "$OUT/ts/$api/node_modules"
  done

  step "SDK: install the wheels into a new virtualenv and smoke-test them"
  "$BIN/python" -m venv "$SDK_DIR/venv"
  "$SDK_DIR/venv/bin/pip" install --quiet --disable-pip-version-check "$SDK_DIR"/*.whl
  (cd "$SDK_DIR" && venv/bin/python "$OLDPWD/clients/sdk_smoke.py")


  step "SDK: install the tarballs into a new npm project and smoke-test them"
  mkdir -p "$SDK_DIR/npm-smoke"
  (cd "$SDK_DIR/npm-smoke" && npm init -y >/dev/null \
    && npm install --silent --no-audit --no-fund ../registry-member-client-"$VERSION".tgz \
      ../registry-admin-client-"$VERSION".tgz \
    && cp "$OLDPWD/clients/sdk_smoke.cjs" . && node sdk_smoke.cjs)  # resolves from its own dir
  ls -1 "$SDK_DIR"/*.whl "$SDK_DIR"/*.tgz
fi

step "done"
