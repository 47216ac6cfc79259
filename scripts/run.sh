#!/usr/bin/env bash
# The run command: installs everything, then starts the embedded broker, every service and
# the gateway on the embedded defaults (SQLite files in HACKATHON_DATA_DIR), prints the
# gateway's URL and the organizer's credentials, and stops everything on Ctrl-C.
# Options: --gateway-port, --broker-port, --data-dir (or GATEWAY_PORT, HACKATHON_BROKER_PORT,
# HACKATHON_DATA_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec .venv/bin/hackathon run "$@"
