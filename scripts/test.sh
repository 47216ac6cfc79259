#!/usr/bin/env bash
# The test command: installs everything, lints, type-checks and runs the whole suite against
# a real Kafka-protocol broker (KAFKA_BOOTSTRAP_SERVERS, else a testcontainers Kafka when a
# Docker engine answers, else the embedded Tansu broker) and real databases (SQLite always,
# PostgreSQL at TEST_POSTGRES_URL or 127.0.0.1:5432 when it answers). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
source .venv/bin/activate
echo "== ruff"; ruff check .
echo "== ruff format --check"; ruff format --check .
echo "== mypy"; mypy shared/hackathon_shared services cli/hackathon_cli bench
echo "== pytest"; exec pytest "$@"
