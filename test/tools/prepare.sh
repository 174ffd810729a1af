#!/bin/sh
# Runs before `npm test` (npm's pretest): makes a fresh clone testable with no manual step.
set -eu
cd "$(dirname "$0")/../.."
if [ ! -d node_modules/better-sqlite3 ] || [ ! -d node_modules/uvu ]; then
  echo "prepare: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
