#!/usr/bin/env bash
# Fails on any import cycle, type-only imports included (dpdm without --transform keeps them).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node_modules/.bin/dpdm --no-warning --no-tree --exit-code circular:1 worker.ts client.ts \
  'core/**/*.ts' 'activities/**/*.ts' 'workflows/**/*.ts' 'lib/**/*.ts' 'cli/**/*.ts' 'testdouble/**/*.ts' \
  'scripts/**/*.ts' 'bench/**/*.ts' 'test/**/*.ts'
