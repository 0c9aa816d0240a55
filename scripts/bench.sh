#!/usr/bin/env bash
# `npm run bench`: the benchmarks (bench/README.md). wrk, the load generator, comes from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
# The apps run from their build output, as in production (BENCH_RUNTIME=tsx: from the sources).
if [ "${BENCH_RUNTIME:-}" != "tsx" ]; then
  node_modules/.bin/turbo run build --output-logs=errors-only
fi
exec node_modules/.bin/tsx bench/run.ts "$@"
