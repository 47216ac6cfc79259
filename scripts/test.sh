#!/usr/bin/env bash
# The test command: installs everything, lints, type-checks and runs the whole suite against
# a real Kafka-protocol broker (KAFKA_BOOTSTRAP_SERVERS, else a testcontainers Kafka when a
# Docker engine answers, else the embedded Tansu broker) and real databases (SQLite always,
# PostgreSQL at TEST_POSTGRES_URL or 127.0.0.1:5432 when it answers). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/browser.sh  # Debian's Chromium, for the browser tests (tests/web/)
source .venv/bin/activate
echo "== ruff"; ruff check .
echo "== ruff format --check"; ruff format --check .
echo "== mypy"; mypy shared/hackathon_shared services cli/hackathon_cli bench
# The fault suite (tests/faults/, marker "faults": real processes killed, blocked and restarted)
# takes about as long as the rest together: CI (where CI is set) runs it every time, and so
# does HACKATHON_FAULTS=1; otherwise it is left out, and this says so.
if [ -n "${CI:-}" ] || [ "${HACKATHON_FAULTS:-}" = "1" ]; then
  echo "== pytest (with the fault suite)"; exec pytest "$@"
fi
echo "== pytest (without the fault suite: HACKATHON_FAULTS=1 ./scripts/test.sh runs it, as CI does)"
exec pytest -m "not faults" "$@"
