"""Reading reports in tests as a person would: every part of a report as plain text."""

from __future__ import annotations

from bot.render.inline import to_plain
from bot.report import Action, Report, Text


def plain(text: Text | None) -> str:
    """Inline text (plain or spans) as the terminal shows it; `None` as ""."""
    return "" if text is None else to_plain(text)


def _actions(actions: list[Action]) -> list[str]:
    return [f"[{a.label}] {a.action_id} {a.value} {a.confirm or ''}".rstrip() for a in actions]


def report_text(report: Report) -> str:
    """Everything a report says (title, summary, reasons, sections, buttons, footer) as one string."""
    parts = [report.title, plain(report.summary), *(plain(r) for r in report.reasons)]
    for section in report.sections:
        parts += [section.title, plain(section.error), *(plain(line) for line in section.lines)]
        parts += [plain(row.text) for row in section.rows]
        parts += [f"{kv.label}: {plain(kv.value)}" for kv in section.fields]
        parts += _actions(section.actions)
    parts += _actions(report.actions)
    parts += [plain(f) for f in report.footer]
    return "\n".join(p for p in parts if p)
