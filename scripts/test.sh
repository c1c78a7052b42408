#!/usr/bin/env bash
# The README's test command: installs what is missing, type-checks, then runs every jest suite
# (unit, workflows on a real Temporal dev server, the provider test double, llama.cpp, end to end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node_modules/.bin/tsc --noEmit -p tsconfig.json
exec node_modules/.bin/jest "$@"
