#!/usr/bin/env bash
# Installs what Dockyard needs on a fresh Debian machine: the Python environment always, and with --test the
# real clients and servers the test suite drives (skopeo, podman, buildah, oras, python-dxf, PostgreSQL, CNCF
# distribution, which notifies Dockyard in the analytics ingest tests, Chromium, which Playwright drives through
# the Insights pages: Debian's build, since Playwright's own browser download cannot be reached, and a Java runtime
# for the local Spark of the analytics tests).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

if [ "$want_test" = 1 ]; then
  apt_install skopeo podman buildah postgresql ca-certificates docker-registry chromium
  # tests/analytics/test_spark.py runs the analytics SQL on a local Spark (pyspark, from the dev extras), which
  # needs a Java runtime; Spark 4 wants Java 17 or newer, which Debian 12's default-jre-headless is.
  command -v java >/dev/null 2>&1 || apt_install default-jre-headless
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip
if [ "$want_test" = 1 ]; then
  .venv/bin/pip install -q -e '.[dev]'
else
  .venv/bin/pip install -q -e .
fi

if [ "$want_test" = 1 ]; then
  # The npm docker-hub-api package that tests/e2e/test_npm_client.py drives, pinned by tests/npm/package-lock.json.
  if command -v npm >/dev/null 2>&1; then
    npm ci --prefix tests/npm --no-audit --no-fund --loglevel=error >/dev/null
  else
    echo "setup: npm not found; tests/e2e/test_npm_client.py will be skipped" >&2
  fi
fi
