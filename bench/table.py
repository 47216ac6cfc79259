"""The figures a benchmark reports, each beside the baseline measured in the same run.

Every benchmark prints its own table with :func:`print_rows`. When ``BENCH_RESULTS`` names a
file (``scripts/bench.sh`` sets it), the rows are also appended to it as JSON lines, and
``bench/report.py`` prints the whole suite as one table at the end.

A row's ``ratio`` is ``value / baseline`` when both are given; ``higher_is_better`` says how to
read it (requests per second: higher; a latency: lower), and ``goal`` states the issue's goal
in words, with ``met`` saying whether this run met it (None when there is no goal).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    bench: str
    metric: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    goal: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.value / self.baseline


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def format_rows(rows: list[Row]) -> str:
    header = ("bench", "metric", "value", "baseline", "ratio", "goal")
    lines = [header]
    for row in rows:
        ratio = row.ratio
        baseline = f"{_number(row.baseline)} ({row.baseline_name})" if row.baseline_name else "-"
        verdict = "" if row.met is None else (" met" if row.met else " NOT met")
        lines.append(
            (
                row.bench,
                row.metric,
                f"{_number(row.value)} {row.unit}",
                baseline,
                "-" if ratio is None else f"{ratio:.3f}",
                f"{row.goal}{verdict}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append(" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if n == 0:
            out.append("-+-".join("-" * w for w in widths))
    return "\n".join(out)


def print_rows(rows: list[Row]) -> None:
    """Print the rows as a table and, under ``BENCH_RESULTS``, append them for the report."""
    print(format_rows(rows), flush=True)
    target = os.environ.get("BENCH_RESULTS")
    if target:
        with Path(target).open("a", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(asdict(row)) + "\n")


def read_rows(path: Path) -> list[Row]:
    if not path.exists():
        return []
    return [Row(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
