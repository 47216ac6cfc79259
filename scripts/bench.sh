#!/usr/bin/env bash
# The benchmark command: sets everything up, then runs every benchmark in bench/, each
# starting what it needs and printing its figures beside the baseline measured in the same
# run (docs/benchmarks.md keeps the results). Extra arguments are not passed on: run a single
# benchmark directly for its options (.venv/bin/python bench/NAME.py --help).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
for bench in bench/*.py; do
  echo "== $bench"
  .venv/bin/python "$bench"
done
