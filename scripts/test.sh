#!/usr/bin/env bash
# The README's test command: installs what is missing, type-checks, then runs every jest suite
# (unit, workflows on a real Temporal dev server, the provider test double, llama.cpp, end to end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node_modules/.bin/tsc --noEmit -p tsconfig.json
mkdir -p .flt
status=0
node_modules/.bin/jest --json --outputFile=.flt/jest-results.json "$@" || status=$?
# A plain closing line that any CI log reader understands.
node -e 'const r = require("./.flt/jest-results.json"); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`)' || true
exit $status
