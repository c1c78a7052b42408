#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: npm packages, the Temporal CLI and versitygw (the tests' S3).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # Not `npm ci`: the registry reachable from these machines serves only some platforms' optional binaries
  # (for example no darwin @swc/core), and npm ci refuses a lock file without them. `npm install --no-save`
  # installs exactly the locked versions and leaves package-lock.json alone.
  echo "setup: installing npm packages"
  npm install --no-save --no-audit --no-fund --loglevel=error
fi

if [ -z "${TEMPORAL_CLI:-}" ] && [ ! -x .tools/bin/temporal ] && ! command -v temporal >/dev/null 2>&1; then
  if ! command -v go >/dev/null 2>&1; then
    echo "setup: the Temporal CLI is missing and Go is not installed;" \
      "install Go, or download the CLI (see README) and put it on PATH." >&2
    exit 1
  fi
  # v1.6.0 and later carry a replace directive and cannot be go-installed.
  echo "setup: building the Temporal CLI v1.5.1 into .tools/bin (the first build takes minutes)"
  GOBIN="$PWD/.tools/bin" GOFLAGS=-mod=mod go install github.com/temporalio/cli/cmd/temporal@v1.5.1
fi

# Versity Gateway (versitygw, Apache-2.0) is the S3-compatible server the tests run the S3 artifact store against: a
# production S3 gateway over a plain folder, with conditional writes, that builds from the Go module proxy in minutes.
if [ ! -x .tools/bin/versitygw ] && ! command -v versitygw >/dev/null 2>&1; then
  if ! command -v go >/dev/null 2>&1; then
    echo "setup: versitygw (the tests' S3 server) is missing and Go is not installed: install Go, or put it on PATH" >&2
    exit 1
  fi
  echo "setup: building Versity Gateway v1.8.0 into .tools/bin (the first build takes minutes)"
  GOBIN="$PWD/.tools/bin" GOFLAGS=-mod=mod go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi

# Headless Chromium draws the run reports in the tests (test/integration/report.test.ts, test/e2e/operator.test.ts).
# Installed only where this script may: Debian, as root; elsewhere those checks are skipped and say so.
if ! command -v chromium >/dev/null 2>&1 && [ -f /etc/debian_version ] && [ "$(id -u)" = 0 ]; then
  echo "setup: installing chromium (headless, for the report tests)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1; then
    echo "setup: could not install chromium; the report tests that need a browser will be skipped" >&2
  fi
fi

# The CLI compiled to dist/ starts in a fraction of the time tsx takes (bench 9); bin/flt.js runs it while it is newer
# than the sources. tsc also type-checks everything here, so `npm test` needs no separate type-check.
echo "setup: building the CLI into dist/"
node_modules/.bin/tsc -p tsconfig.json
