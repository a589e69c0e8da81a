"""Plain-text rendering for the terminal shell and logs."""

from __future__ import annotations

from bot.render.inline import to_plain
from bot.report import Report, Status, Text

_MARK = {
    Status.HEALTHY: "[ok]",
    Status.INFO: "[i]",
    Status.UNKNOWN: "[?]",
    Status.DEGRADED: "[!]",
    Status.UNHEALTHY: "[x]",
}


def plain(text: Text) -> str:
    """A report's inline text for a terminal."""
    return to_plain(text)


def render_text(report: Report) -> str:
    """Render a report as plain text, one line per fact."""
    out: list[str] = []
    if report.title:
        head = report.title
        if report.status:
            head += f": {report.status.value}"
        out += [head, "=" * min(len(head), 72)]
    if report.summary:
        out.append(plain(report.summary))
    for reason in report.reasons:
        out.append(f"  - {plain(reason)}")
    for section in report.sections:
        mark = f"{_MARK[section.status]} " if section.status else ""
        out += ["", f"{mark}{section.title}"]
        if section.error:
            out.append(f"  could not check: {plain(section.error)}")
        for row in section.rows:
            mark = f"{_MARK[row.status]} " if row.status else ""
            out.append(f"  {mark}{plain(row.text)}")
        for line in section.lines:
            out.append(f"  {plain(line)}")
        for kv in section.fields:
            out.append(f"  {kv.label}: {plain(kv.value)}")
        if section.actions:
            out.append("  " + " ".join(f"[{a.label}]" for a in section.actions))
    if report.actions:
        out += ["", "Actions: " + ", ".join(a.label for a in report.actions)]
    for chart in report.charts:
        out.append(f"(chart: {chart.title}, {len(chart.png)} bytes PNG)")
    if report.footer:
        out += ["", *(plain(f) for f in report.footer)]
    return "\n".join(out).strip() + "\n"
