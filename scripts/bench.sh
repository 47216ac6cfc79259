#!/usr/bin/env bash
# The benchmark command: sets everything up, then runs every benchmark of the suite, each
# starting what it needs on ports of its own and printing its figures beside the baseline
# measured in the same run; at the end one table of every figure (bench/report.py).
# docs/benchmarks.md keeps the results. Sized to finish in about 10 minutes on 2 cores; run a
# benchmark directly for its full options (.venv/bin/python bench/NAME.py --help).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
if ! command -v wrk >/dev/null; then
  # The HTTP load generator (C): Debian's package.
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null; else sudo apt-get install -y -qq wrk >/dev/null; fi
fi
results="$(mktemp -t bench-results.XXXXXX)"
export BENCH_RESULTS="$results"
run() { echo "== $*"; .venv/bin/python "$@"; echo; }
run bench/gateway_http.py --seconds 8
run bench/consumers.py
run bench/audit_verify.py
run bench/fetch_wait.py --rounds 12
run bench/notification_latency.py --rounds 10
run bench/web_pages.py --rounds 40
echo "== the suite"
.venv/bin/python bench/report.py "$results"
