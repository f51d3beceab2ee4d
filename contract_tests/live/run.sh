#!/usr/bin/env bash
# The live contract run (`make contract`, `make contract-deep`): the production stack on
# PostgreSQL, tested over real HTTP by the Schemathesis CLI with schemathesis.toml beside this
# file. README, "Live contract run", says what it proves.
#
#   1. a fresh database (dropped and created), migrated, seeded with the demo data
#   2. keys issued with `registry keys issue`: user@example.edu (the member run), user@test.edu
#      (its peer for the cross-tenant probes), and a sysadmin of the run's own for the admin run
#   3. `registry serve --workers 2` (gunicorn, uvicorn workers, --preload) on 127.0.0.1, and a
#      wait until it answers
#   4. schemathesis run over /openapi.json, then over /admin-api/v3/openapi.json (the admin run
#      writes, so it goes last); a JUnit report and a HAR record (every request and response,
#      keys filtered out) of each in test-results/
#   5. the server is stopped however the script ends (trap)
#
# Environment: CONTRACT_DATABASE_URL (PostgreSQL; the database is DROPPED first and after; by
# default registry_contract_<pid>, the run's own), CONTRACT_PORT (by default a free port),
# CONTRACT_DEEP=1 (many more examples and a random seed), CONTRACT_TIME_LIMIT (seconds per API).
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN="${BIN:-.venv/bin}"
# Each run has a database and a port of its own: two runs on one machine never meet.
DATABASE_URL="${CONTRACT_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/registry_contract_$$}"
HOST=127.0.0.1
PORT="${CONTRACT_PORT:-$("$BIN/python" -m contract_tests.live.prepare free-port)}"
BASE="http://$HOST:$PORT"
RESULTS=test-results
export DATABASE_URL
export CONTRACT_MEMBER_EMAIL="${CONTRACT_MEMBER_EMAIL:-user@example.edu}"
export CONTRACT_PEER_EMAIL="${CONTRACT_PEER_EMAIL:-user@test.edu}"
export CONTRACT_ADMIN_EMAIL=contract-admin@aptrust.org
# The server's batch deletion secret (POST /admin-api/v3/objects/init_batch_delete): a fresh
# UUID per run, so the operation is exercised as deployed rather than answering 503.
REGISTRY_BATCH_DELETION_KEY="$(python3 -c 'import uuid; print(uuid.uuid4())')"
export REGISTRY_BATCH_DELETION_KEY

RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/registry-contract.XXXXXX")"
chmod 700 "$RUN_DIR"  # it holds the run's API keys
SERVER_PID=""
stop_stack() {
  local status=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true  # gunicorn stops its workers, then itself
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -s "$RUN_DIR/server.log" ]]; then
    echo "--- last lines of the server log ---" >&2
    tail -n 30 "$RUN_DIR/server.log" >&2
  fi
  rm -rf "$RUN_DIR"
  "$BIN/python" -m contract_tests.live.prepare drop-database "$DATABASE_URL" || true
  exit $status
}
trap stop_stack EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SECONDS=0
echo "== live contract run: $BASE, database ${DATABASE_URL##*/}"
"$BIN/python" -m contract_tests.live.prepare fresh-database "$DATABASE_URL"
"$BIN/registry" db migrate
"$BIN/registry" seed --demo
"$BIN/registry" users create --email "$CONTRACT_ADMIN_EMAIL" --name "Contract run sysadmin" \
  --role admin --institution aptrust.org >/dev/null
CONTRACT_MEMBER_KEY="$("$BIN/registry" keys issue --email "$CONTRACT_MEMBER_EMAIL")"
CONTRACT_PEER_KEY="$("$BIN/registry" keys issue --email "$CONTRACT_PEER_EMAIL")"
CONTRACT_ADMIN_KEY="$("$BIN/registry" keys issue --email "$CONTRACT_ADMIN_EMAIL")"
export CONTRACT_MEMBER_KEY CONTRACT_PEER_KEY CONTRACT_ADMIN_KEY
export CONTRACT_WFC_AUTH="$RUN_DIR/auth.json" CONTRACT_GUARD="$RUN_DIR/guard.json"
export CONTRACT_PROBE_LOG="$RUN_DIR/cross-tenant.log"
"$BIN/python" -m contract_tests.live.prepare wfc-auth >"$CONTRACT_WFC_AUTH"
"$BIN/python" -m contract_tests.live.prepare guard --sysadmin "$CONTRACT_ADMIN_EMAIL" \
  >"$CONTRACT_GUARD"
echo "member: $CONTRACT_MEMBER_EMAIL, peer: $CONTRACT_PEER_EMAIL, admin: $CONTRACT_ADMIN_EMAIL"

# Rate limiting on, as shipped, but with budgets the run's fuzzing from three keys (and its
# requests without one) cannot spend: every answer carries the RateLimit fields the specs
# document, and no 429 stands in for the answer under test (README, "Rate limits").
export REGISTRY_RATE_LIMIT=on REGISTRY_RATE_LIMIT_KEY_READS=1000000/minute \
  REGISTRY_RATE_LIMIT_KEY_WRITES=1000000/minute REGISTRY_RATE_LIMIT_ADDRESS_READS=1000000/minute \
  REGISTRY_RATE_LIMIT_ADDRESS_WRITES=1000000/minute
"$BIN/registry" serve --workers 2 --host "$HOST" --port "$PORT" >"$RUN_DIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 60); do
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server exited before answering" >&2; exit 1; }
  curl -fsS -o /dev/null "$BASE/openapi.json" 2>/dev/null && break
  sleep 0.5
done
curl -fsS -o /dev/null "$BASE/openapi.json" || { echo "no answer from $BASE" >&2; exit 1; }
echo "stack up after ${SECONDS}s"

ST_ARGS=()
TIME_LIMIT="${CONTRACT_TIME_LIMIT:-480}"  # a hang guard, not the budget
if [[ "${CONTRACT_DEEP:-}" == 1 ]]; then
  # Ten times the fuzzing examples, and a seed of its own each run (printed in the summary).
  ST_ARGS+=(--max-examples 250 --seed "$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')")
  TIME_LIMIT="${CONTRACT_TIME_LIMIT:-1800}"
fi
mkdir -p "$RESULTS"
status=0
run_schemathesis() {  # name, schema path
  local started=$SECONDS rc=0
  echo "== $1 API: $BASE$2"
  timeout --signal=INT --kill-after=20 "$TIME_LIMIT" \
    "$BIN/schemathesis" --no-color --config-file contract_tests/live/schemathesis.toml \
    run "$BASE$2" "${ST_ARGS[@]}" \
    --report junit,har --report-junit-path "$RESULTS/contract-$1.xml" \
    --report-har-path "$RESULTS/contract-$1.har" || rc=$?
  [[ $rc -eq 124 ]] && echo "== $1 API: stopped after the time limit (${TIME_LIMIT}s)" >&2
  echo "== $1 API: exit $rc after $((SECONDS - started))s"
  [[ $rc -eq 0 ]] || status=$rc
}
run_schemathesis member /openapi.json
# The cross-tenant checks must have probed, not only passed: how the peer's replays went.
"$BIN/python" -m contract_tests.live.probes --har "$RESULTS/contract-member.har" \
  --peer-email "$CONTRACT_PEER_EMAIL" --probe-log "$CONTRACT_PROBE_LOG" || status=$?
# A locked-out run would not fail by itself (a 401 is an accepted answer to most requests), and
# nothing in the API gives access back: the run's own key must still work at its end. (The
# admin run may well disable the member run's user: only its own sysadmin is guarded.)
key_still_works() {  # name, email, key, path
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' -H "X-Pharos-API-User: $2" \
    -H "X-Pharos-API-Key: $3" "$BASE$4")"
  echo "the $1 run's key at its end: GET $4 -> $code"
  [[ "$code" == 200 ]] || status=1
}
key_still_works member "$CONTRACT_MEMBER_EMAIL" "$CONTRACT_MEMBER_KEY" /member-api/v3/objects
run_schemathesis admin /admin-api/v3/openapi.json
key_still_works admin "$CONTRACT_ADMIN_EMAIL" "$CONTRACT_ADMIN_KEY" /admin-api/v3/users
echo "== live contract run: exit $status in ${SECONDS}s"
exit $status
