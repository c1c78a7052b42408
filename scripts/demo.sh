#!/usr/bin/env bash
# The main job end to end on this machine: installs what is missing, then runs scripts/demo.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node_modules/.bin/tsx scripts/demo.ts "$@"
