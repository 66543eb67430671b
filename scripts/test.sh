#!/usr/bin/env bash
# Installs everything the tests need, checks lint and types, then runs the whole suite twice: on SQLite, and on a
# throw-away PostgreSQL cluster. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --test

.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy

workers=${DOCKYARD_TEST_WORKERS:-2}

echo "== tests on SQLite"
.venv/bin/pytest -n "$workers" "$@"

echo "== tests on PostgreSQL"
eval "$(./scripts/postgres.sh start)"
trap './scripts/postgres.sh stop "$PGTEST_DIR"' EXIT
.venv/bin/pytest -n "$workers" "$@"
