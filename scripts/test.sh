#!/usr/bin/env bash
# The README's test command: installs what is missing and builds (which type-checks); checks formatting, lints and
# looks for import cycles; then runs every jest suite (unit, workflows on a real Temporal dev server, the provider
# test double, llama.cpp, end to end), and the durability suites one at a time: they kill and restart workers and
# servers, and timing races with other suites on two cores would only blur them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh # its build type-checks the whole tree
bash scripts/format.sh --check
node_modules/.bin/eslint --max-warnings 0 .
bash scripts/cycles.sh
mkdir -p .flt
status=0
if [ "$#" -gt 0 ]; then
  node_modules/.bin/jest --json --outputFile=.flt/jest-results.json "$@" || status=$?
  results=(.flt/jest-results.json)
else
  node_modules/.bin/jest --json --outputFile=.flt/jest-results.json --selectProjects unit server || status=$?
  node_modules/.bin/jest --json --outputFile=.flt/jest-durability.json --runInBand --selectProjects durability ||
    status=$?
  results=(.flt/jest-results.json .flt/jest-durability.json)
fi
# A plain closing line that any CI log reader understands.
node -e '
  const rs = process.argv.slice(1).map((f) => require(require("path").resolve(f)));
  const sum = (k) => rs.reduce((s, r) => s + r[k], 0);
  console.log(`${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed, ${sum("numPendingTests")} skipped`);
' "${results[@]}" || true
exit $status
