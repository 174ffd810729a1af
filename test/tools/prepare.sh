#!/bin/sh
# Runs before `npm test` (npm's pretest): makes a fresh clone testable with no manual step.
set -eu
cd "$(dirname "$0")/../.."

if [ ! -d node_modules/better-sqlite3 ] || [ ! -d node_modules/uvu ]; then
  echo "prepare: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

# Debian packages the tests drive for real: sipp (package sip-tester) plays the phone receiving NOTIFYs,
# Chromium is the browser Playwright drives through the console, openssl makes the TLS phones' throwaway certificates.
missing=""
command -v sipp >/dev/null 2>&1 || missing="$missing sip-tester"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "prepare: the tests need:$missing (run: sudo apt-get install$missing)" >&2
    exit 1
  fi
  echo "prepare: installing$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
