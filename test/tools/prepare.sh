#!/bin/sh
# Runs before `npm test` (npm's pretest): makes a fresh clone testable with no manual step.
set -eu
cd "$(dirname "$0")/../.."

if [ ! -d node_modules/better-sqlite3 ] || [ ! -d node_modules/uvu ]; then
  echo "prepare: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

# Debian packages the tests drive for real: sipp (package sip-tester) plays the phone receiving NOTIFYs,
# Chromium is the browser Playwright drives through the console, openssl makes the CAs and the phones' client
# certificates of the HTTPS tests.
missing=""
command -v sipp >/dev/null 2>&1 || missing="$missing sip-tester"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
# PostgreSQL (issue 16): the tests start their own throwaway cluster from Debian's binaries, never the service.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
# haproxy runs contrib/haproxy/haproxy.cfg in front of several hotprov nodes; the test starts its own, never the service.
[ -x /usr/sbin/haproxy ] || missing="$missing haproxy"
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "prepare: the tests need:$missing (run: sudo apt-get install$missing)" >&2
    exit 1
  fi
  echo "prepare: installing$missing"
  # Debian's maintainer scripts start services through invoke-rc.d, which asks policy-rc.d first: exit 101 denies
  # every start, so installing postgresql or haproxy starts no system cluster or proxy (with or without systemd).
  # Docker images ship such a policy-rc.d; where there is none, one is put in place for the install only.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
