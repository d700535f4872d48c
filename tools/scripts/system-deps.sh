#!/usr/bin/env bash
# Debian packages the test suites use (real third-party peers; PostgreSQL 15 for the PostgreSQL
# store, started by the tests themselves in a temp folder). Installs only what is missing,
# and only when it can (root with apt-get); otherwise says what to install.
set -euo pipefail
NEEDED=(${OOBKIT_SYSTEM_PACKAGES:-openssl curl wget uuid-runtime wsl amtterm libsoap-lite-perl postgresql-15})
missing=()
for p in "${NEEDED[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "please install these Debian packages: ${missing[*]}" >&2
  exit 1
fi
