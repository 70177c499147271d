#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine, then runs all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is missing: install Debian's chromium (sudo apt-get install chromium) for the browser tests" >&2
  fi
fi
exec python -m pytest "$@"
