"""One section of the health report as it is judged: its rows, facts and notes, and the reasons that decide.

Every text a section shows goes in as a :data:`~bot.report.Text`; a bare
string is wrapped into spans here, so a name or an error message from a
server is always shown as typed, never read as markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from bot.clients.errors import ClientError
from bot.models import Frozen
from bot.report import Inline, KeyValue, Row, Section, Status, Text, spans, worst

T = TypeVar("T")

MAX_ROWS = 8  # rows of one kind before "... and N more"


class Reason(Frozen):
    """A short, plain sentence that decides (part of) the verdict: ``node 2 (10.0.0.2:9000) offline``."""

    status: Status
    text: str


def plural(count: int, word: str) -> str:
    """``1 node`` / ``2 nodes``."""
    return f"{count} {word}" + ("" if count == 1 else "s")


def as_spans(text: Text) -> tuple[Inline, ...]:
    """``text`` as spans: a bare string becomes plain text (escaped by the renderer), never markup."""
    return spans(text)


def no_credentials(error: ClientError | str | None, kind: str | None = None) -> bool:
    """True when ``error`` says the tenant has no usable keys (nothing was sent, so nothing was checked)."""
    return (error.kind if isinstance(error, ClientError) else kind) == "no_credentials"


@dataclass
class SectionBuilder:
    """Collects one section's rows and the short reasons that may decide the verdict."""

    title: str
    rows: list[Row] = field(default_factory=list)
    fields: list[KeyValue] = field(default_factory=list)
    lines: list[Text] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    error: str | None = None
    status_floor: Status | None = None

    def finding(self, status: Status, reason: str, detail: Text | None = None) -> None:
        """A row with a verdict; DEGRADED and worse (and UNKNOWN) also become reasons."""
        self.rows.append(Row(status=status, text=as_spans(reason if detail is None else detail)))
        if status.severity >= Status.UNKNOWN.severity:
            self.reasons.append(Reason(status=status, text=reason))

    def ok(self, text: Text) -> None:
        """A check that passed."""
        self.rows.append(Row(status=Status.HEALTHY, text=as_spans(text)))

    def info(self, text: Text) -> None:
        """A note that never changes the verdict."""
        self.rows.append(Row(status=Status.INFO, text=as_spans(text)))

    def fact(self, label: str, value: Text) -> None:
        """A label/value fact."""
        self.fields.append(KeyValue(label=label, value=as_spans(value)))

    def line(self, text: Text) -> None:
        """A line of detail under the rows (an event, a pod's usage, "... and 3 more")."""
        self.lines.append(as_spans(text))

    def not_checked(self, what: str, error: ClientError | str, root_cause: str | None = None) -> None:
        """Part of the section could not be gathered: UNKNOWN, with the reason.

        With ``root_cause`` (a failure another section already reports, such as
        "no MinIO node answers") the row names it and no second reason is added.
        Missing keys are said as they are (see :meth:`without_credentials`).
        """
        if no_credentials(error):
            self.without_credentials(what, str(error))
            return
        if root_cause:
            self.rows.append(Row(status=Status.UNKNOWN, text=as_spans(f"{what}: not checked ({root_cause})")))
            return
        self.finding(Status.UNKNOWN, f"{what} not checked: {error}", f"{what}: could not check ({error})")

    def without_credentials(self, what: str, why: str) -> None:
        """``what`` needs the tenant's keys and there are none: not checked, never "failed".

        The reason is the credentials error itself, word for word, so every check
        it stopped adds the same reason and the verdict lists it once.
        """
        self.finding(Status.UNKNOWN, why, f"{what}: not checked ({why})")

    def failed(self, error: ClientError | str, root_cause: str | None = None) -> None:
        """The whole section could not be gathered (see ``not_checked`` for ``root_cause``)."""
        self.error = root_cause or str(error)
        self.status_floor = Status.UNKNOWN
        if not root_cause:
            self.reasons.append(Reason(status=Status.UNKNOWN, text=f"{self.title} not checked: {error}"))

    def build(self) -> tuple[Section, list[Reason]]:
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
            error=None if self.error is None else as_spans(self.error),
        )
        return section, self.reasons


def more(items: list[T], limit: int = MAX_ROWS) -> tuple[list[T], int]:
    """The first ``limit`` items and how many were left out."""
    return items[:limit], max(0, len(items) - limit)
