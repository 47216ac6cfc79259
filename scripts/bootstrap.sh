#!/usr/bin/env bash
# Sets up .venv from the committed, hashed requirement files. Safe to run again: it only
# installs what is missing or changed. Needs python3 (3.11+) with venv; nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
    -r requirements/bootstrap.txt
fi
export VIRTUAL_ENV="$PWD/.venv"
.venv/bin/uv pip install --quiet --require-hashes -r requirements/dev.txt
.venv/bin/uv pip install --quiet --no-deps --no-build-isolation \
  -e shared -e services/registration -e services/submissions -e services/scoring \
  -e services/notifications -e services/gateway -e services/web -e services/audit -e cli
