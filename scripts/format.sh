#!/usr/bin/env bash
# `npm run format` rewrites the tree with prettier; `npm run format -- --check` only reports files that differ.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--check" ]; then
  exec node_modules/.bin/prettier --check --log-level warn .
fi
exec node_modules/.bin/prettier --write --log-level warn "${@:-.}"
