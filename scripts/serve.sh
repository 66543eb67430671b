#!/usr/bin/env bash
# Sets up the Python environment if needed and runs the server on the embedded defaults (SQLite and local files
# in ./data). Extra arguments go to `dockyard serve`, e.g. --port 5000 --public-url http://registry.example:5000.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/dockyard serve "$@"
