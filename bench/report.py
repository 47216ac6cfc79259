"""Print the whole benchmark suite's figures as one table (``scripts/bench.sh`` runs it last):
every row the benchmarks appended to ``BENCH_RESULTS``, each beside its baseline from the same
run, with the ratio and whether the issue's goal was met.

    .venv/bin/python bench/report.py RESULTS.jsonl
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

from table import format_rows, read_rows


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_RESULTS", ""))
    rows = read_rows(path)
    if not rows:
        sys.exit(f"no benchmark figures in {path}")
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.machine()}; load average at the end {os.getloadavg()[0]:.1f}"
    )
    print(format_rows(rows))
    missed = [row for row in rows if row.met is False]
    print(f"\n{len(rows)} figures, {len(missed)} goals not met")


if __name__ == "__main__":
    main()
