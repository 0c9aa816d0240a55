#!/usr/bin/env bash
# Proves compatibility with the official go-tfe SDK (Debian's golang-github-hashicorp-go-tfe-dev):
# starts the real stack (gateway, scheduler, worker; the terraform test double) on a dedicated
# database, runs go-tfe's own tests for organizations, workspaces, configuration versions,
# runs, plans, applies and agent pools against it, then our workflow program (conformance/main.go), and
# stops the stack. Exits non-zero when anything outside conformance/known-results.txt fails.
#
# Needs: Go, go-tfe under /usr/share/gocode, PostgreSQL/Redis/NATS running (see .ci/run).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"

GOTFE_SRC="${GOTFE_SRC:-/usr/share/gocode/src/github.com/hashicorp/go-tfe}"
PORT="${CONFORMANCE_PORT:-18080}"
DB_NAME="${CONFORMANCE_DB:-tarmac_conformance}"
PG_URL="${CONFORMANCE_PG_URL:-postgresql://postgres@127.0.0.1:5432}"
PREFIX="${CONFORMANCE_PREFIX:-tarmacconformance}"
TOKEN="conformance-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
GO_TESTS="${CONFORMANCE_GO_TESTS:-organization_test.go workspace_test.go configuration_version_test.go run_test.go plan_test.go apply_test.go agent_pool_test.go}"
# A -test.run pattern for local iteration (e.g. '^TestAgentPools'); CI runs every selected test.
GO_RUN="${CONFORMANCE_GO_RUN:-.}"

work="$(mktemp -d /tmp/tarmac-conformance.XXXXXX)"
pids=()
stop_stack() {
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  local rc=$?
  stop_stack
  if [ "$rc" -ne 0 ] && [ -d "$work" ]; then
    for f in "$work"/*.log; do
      [ -f "$f" ] || continue
      echo "----- last lines of $(basename "$f") -----"
      tail -n 40 "$f"
    done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export GO111MODULE=off GOPROXY=off GOFLAGS= GOCACHE="${GOCACHE:-$work/gocache}"
export GOPATH="$work/gopath:/usr/share/gocode"
# Our GOPATH entry comes first, so the copy below shadows the installed package.
pkg="$work/gopath/src/github.com/hashicorp/go-tfe"
mkdir -p "$pkg" "$work/gopath/src/tarmac-conformance"

echo "== building go-tfe's tests and the workflow program"
for f in "$GOTFE_SRC"/*.go; do
  case "$f" in *_test.go) ;; *) cp "$f" "$pkg/" ;; esac
done
for f in helper_test.go $GO_TESTS; do cp "$GOTFE_SRC/$f" "$pkg/"; done
if [ -d "$GOTFE_SRC/test-fixtures" ]; then cp -r "$GOTFE_SRC/test-fixtures" "$pkg/"; else mkdir -p "$pkg/test-fixtures"; fi
# Debian does not ship upstream's fixtures; ours replaces the one these tests upload.
rm -rf "$pkg/test-fixtures/config-version"
cp -r "$here/fixtures/config-version" "$pkg/test-fixtures/config-version"
(cd "$pkg" && go test -c -o "$work/gotfe.test" .)
cp "$here"/*.go "$work/gopath/src/tarmac-conformance/"
(cd "$work/gopath/src/tarmac-conformance" && go build -o "$work/workflow" .)

echo "== starting the stack on a fresh database $DB_NAME (port $PORT, prefix $PREFIX)"
export DATABASE_URL="$PG_URL/$DB_NAME"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}" NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
psql "$PG_URL/postgres" -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)"
node "$here/reset-stream.mjs" "$PREFIX"
node --input-type=module -e 'const { prepare } = await import(process.argv[1]); await prepare();' "$root/scripts/prepare.mjs" >"$work/prepare.log" 2>&1 \
  || { cat "$work/prepare.log"; exit 1; }
redis-cli -u "$REDIS_URL" --scan --pattern "$PREFIX:*" 2>/dev/null | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true

export PORT TARMAC_PUBLIC_URL="http://127.0.0.1:$PORT" TARMAC_GATEWAY_URL="http://127.0.0.1:$PORT"
export TARMAC_ADMIN_TOKEN="$TOKEN" TARMAC_NATS_PREFIX="$PREFIX" TARMAC_QUEUE_PREFIX="$PREFIX"
export TARMAC_TERRAFORM_BIN="$root/packages/terraform/test/terraform-double/terraform"
# HCP's limits (go-tfe waits out 429s using X-RateLimit-Reset); a short force-cancel cool-off.
export TARMAC_RATE_LIMIT_PER_SECOND=30 TARMAC_RUN_LIST_RATE_LIMIT_PER_MINUTE=30
export TARMAC_FORCE_CANCEL_COOL_OFF_MS="${TARMAC_FORCE_CANCEL_COOL_OFF_MS:-5000}"
export LOG_LEVEL="${LOG_LEVEL:-info}"
for p in "$PORT" $((PORT + 1)) $((PORT + 2)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "port $p is already in use: set CONFORMANCE_PORT to a base port with two free ports after it"; exit 1
  fi
done
tsx="$root/node_modules/.bin/tsx"
start_app() { # name health-port
  HEALTH_PORT="$2" setsid "$tsx" "apps/$1/src/main.ts" >"$work/$1.log" 2>&1 &
  pids+=("$!")
}
start_app gateway 0
start_app scheduler $((PORT + 1))
start_app worker $((PORT + 2))
node --input-type=module - "http://127.0.0.1:$PORT/readyz" "http://127.0.0.1:$((PORT + 1))/readyz" "http://127.0.0.1:$((PORT + 2))/readyz" <<'EOF_NODE' || exit 1
for (const url of process.argv.slice(2)) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) { console.error(`not ready: ${url}`); process.exit(1); }
    await new Promise((r) => setTimeout(r, 500));
  }
}
EOF_NODE
echo "   ready"

export TFE_ADDRESS="http://127.0.0.1:$PORT" TFE_TOKEN="$TOKEN"
status=0

# CONFORMANCE_ONLY=gotfe|workflow runs one suite (for local iteration; CI runs both).
only="${CONFORMANCE_ONLY:-}"
if [ "$only" != "workflow" ]; then
echo "== go-tfe's own tests: $GO_TESTS"
(cd "$pkg" && go tool test2json -t "$work/gotfe.test" -test.v -test.count=1 -test.timeout=40m -test.run "$GO_RUN") >"$work/gotfe.json" 2>&1 || true
cp "$work/gotfe.json" "${CONFORMANCE_EVENTS_OUT:-/dev/null}" 2>/dev/null || true
node "$here/report.mjs" "$work/gotfe.json" "$here/known-results.txt" | tee "$work/gotfe.summary" || status=1
fi

if [ "$only" != "gotfe" ]; then
  echo "== workflow program (go-tfe calls only)"
  "$work/workflow" | tee "$work/workflow.summary" || status=1
fi

stop_stack
# Both suites together; each printed its own "N passed, M failed" above.
total_passed=0 total_failed=0
for f in "$work/gotfe.summary" "$work/workflow.summary"; do
  [ -f "$f" ] || continue
  line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$f" | tail -n 1)"
  if [ -z "$line" ]; then total_failed=$((total_failed + 1)); continue; fi
  total_passed=$((total_passed + ${line%% passed*}))
  rest="${line#*passed, }"
  total_failed=$((total_failed + ${rest%% failed*}))
done
if [ "$status" -eq 0 ]; then echo "== conformance: PASSED"; else echo "== conformance: FAILED"; fi
# The closing line CI reads: both suites together.
echo "conformance: $total_passed passed, $total_failed failed"
exit "$status"
