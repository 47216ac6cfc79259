"""The verification report as people read it (the ``--json`` form is ``Report.to_json``)."""

from __future__ import annotations

from collections import Counter

from audit.verify import Report


def render(report: Report) -> str:
    lines = [f"Audit of {report.source}"]
    summary = (
        f"  {report.records} records read, {report.events} valid events in "
        f"{report.aggregates} aggregates"
    )
    if report.scope:
        summary += f"; scope: hackathon {', '.join(report.scope)}"
    lines.append(summary)
    if report.missing_topics:
        lines.append(f"  topics not found: {', '.join(report.missing_topics)}")
    if report.results:
        lines.append("")
        lines.append("Published results, recomputed from the events:")
        for check in report.results:
            verdict = "match" if check.matches else "DIFFER (see the findings)"
            lines.append(
                f"  {check.hackathon_id}: {check.entries} entries and {check.awards} awards "
                f"({check.event.position}) {verdict}"
            )
    if report.findings:
        lines.append("")
        lines.append(f"Findings ({len(report.findings)}):")
        for number, finding in enumerate(report.findings, start=1):
            lines.append(f"  {number}. [{finding.check}: {finding.kind}] {finding.event.text()}")
            lines.append(f"     {finding.message}")
            if finding.related is not None:
                lines.append(f"     see {finding.related.text()}")
    lines.append("")
    if report.clean:
        lines.append("CLEAN: no finding.")
    else:
        kinds = Counter(f.kind for f in report.findings)
        listed = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
        lines.append(f"NOT CLEAN: {len(report.findings)} findings ({listed}).")
    return "\n".join(lines) + "\n"
