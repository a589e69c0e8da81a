"""Building blocks of the health report's sections: a row/reason collector and short formatting helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.clients.errors import ClientError
from bot.commands import escape
from bot.report import KeyValue, Row, Section, Status, worst

MAX_ROWS = 8  # rows of one kind before "... and N more"


def plural(count: int, word: str) -> str:
    """``1 node`` / ``2 nodes``."""
    return f"{count} {word}" + ("" if count == 1 else "s")


@dataclass
class SectionBuilder:
    """Collects one section's rows and the short reasons that may decide the verdict."""

    title: str
    rows: list[Row] = field(default_factory=list)
    fields: list[KeyValue] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    reasons: list[Row] = field(default_factory=list)
    error: str | None = None
    status_floor: Status | None = None

    def finding(self, status: Status, reason: str, detail: str | None = None) -> None:
        """A row with a verdict; DEGRADED and worse (and UNKNOWN) also become reasons."""
        self.rows.append(Row(status=status, text=detail or reason))
        if status.severity >= Status.UNKNOWN.severity:
            self.reasons.append(Row(status=status, text=reason))

    def ok(self, text: str) -> None:
        """A check that passed."""
        self.rows.append(Row(status=Status.HEALTHY, text=text))

    def info(self, text: str) -> None:
        """A note that never changes the verdict."""
        self.rows.append(Row(status=Status.INFO, text=text))

    def fact(self, label: str, value: str) -> None:
        """A label/value fact."""
        self.fields.append(KeyValue(label=label, value=value))

    def not_checked(self, what: str, error: ClientError | str, root_cause: str | None = None) -> None:
        """Part of the section could not be gathered: UNKNOWN, with the reason.

        With ``root_cause`` (a failure another section already reports, such as
        "no MinIO node answers") the row names it and no second reason is added.
        """
        if root_cause:
            self.rows.append(Row(status=Status.UNKNOWN, text=f"{what}: not checked ({root_cause})"))
            return
        text = error_text(error)
        self.finding(Status.UNKNOWN, f"{what} not checked: {text}", f"{what}: could not check ({text})")

    def failed(self, error: ClientError | str, root_cause: str | None = None) -> None:
        """The whole section could not be gathered (see ``not_checked`` for ``root_cause``)."""
        text = error_text(error)
        self.error = root_cause or text
        self.status_floor = Status.UNKNOWN
        if not root_cause:
            self.reasons.append(Row(status=Status.UNKNOWN, text=f"{self.title} not checked: {text}"))

    def build(self) -> tuple[Section, list[Row]]:
        """The section (status = worst row) and its reasons."""
        statuses = [r.status for r in self.rows if r.status is not None]
        if self.status_floor is not None:
            statuses.append(self.status_floor)
        status = worst(statuses)
        if status is Status.INFO and Status.HEALTHY in statuses:
            # Notes beside passed checks do not make a section "informational only".
            status = Status.HEALTHY
        section = Section(
            title=self.title,
            status=status,
            rows=self.rows,
            fields=self.fields,
            lines=self.lines,
            error=self.error,
        )
        return section, self.reasons


def error_text(error: ClientError | str, limit: int = 200) -> str:
    """A client error as a short, Slack-safe sentence."""
    return escape(str(error), limit)


def more(items: list[str], limit: int = MAX_ROWS) -> tuple[list[str], int]:
    """The first ``limit`` items and how many were left out."""
    return items[:limit], max(0, len(items) - limit)


def human_bytes(value: int | None) -> str:
    """1099511627776 -> "1 TiB"."""
    if value is None:
        return "?"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if size == int(size) or unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"


def human_duration(seconds: float) -> str:
    """3700 -> "1 h 1 min"."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"
