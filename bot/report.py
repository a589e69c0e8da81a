"""What handlers return and renderers draw: typed, transport-free report models.

A handler never builds Slack blocks or terminal text, and never writes markup.
It returns one of these models; `bot/render/` turns it into Block Kit or plain
text, and is the only code that escapes, formats and knows Slack's limits.

Text is a :data:`Text`: a plain string, or a tuple of inline spans built with
:func:`spans`::

    spans("Node ", code(node), " has been offline for ", duration(age), "; ", mention(user), " was told.")

Plain strings are shown as typed (the renderer escapes them); :class:`Code`,
:class:`Bold`, :class:`Link`, :class:`Mention`, :class:`When`, :class:`Size`
and :class:`Duration` carry their meaning, not their markup.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import Field

from bot.models import Frozen


class Status(StrEnum):
    """Overall and per-section verdicts, ordered from best to worst by `severity`."""

    HEALTHY = "HEALTHY"
    INFO = "INFO"
    UNKNOWN = "UNKNOWN"
    DEGRADED = "DEGRADED"
    UNHEALTHY = "UNHEALTHY"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def exit_code(self) -> int:
        """Exit code for scripts: 0 healthy, 1 degraded (or unknown), 2 unhealthy."""
        return {Status.UNHEALTHY: 2, Status.DEGRADED: 1, Status.UNKNOWN: 1}.get(self, 0)


_SEVERITY = {
    Status.HEALTHY: 0,
    Status.INFO: 0,
    Status.UNKNOWN: 1,
    Status.DEGRADED: 2,
    Status.UNHEALTHY: 3,
}


def worst(statuses: list[Status], default: Status = Status.HEALTHY) -> Status:
    """The most severe status of `statuses` (or `default` when empty)."""
    return max(statuses, key=lambda s: s.severity, default=default)


# ----------------------------------------------------------------------------- inline spans


class Code(Frozen):
    """A name, command or value shown verbatim (a tenant, a pod, `/minio health`)."""

    kind: Literal["code"] = "code"
    text: str


class Bold(Frozen):
    """Emphasis."""

    kind: Literal["bold"] = "bold"
    text: str


class Link(Frozen):
    """A link with its label."""

    kind: Literal["link"] = "link"
    url: str
    label: str


class Mention(Frozen):
    """A Slack user, user group or channel, by id (``U…``, ``S…``, ``C…``)."""

    kind: Literal["mention"] = "mention"
    id: str
    of: Literal["user", "group", "channel"] = "user"


class When(Frozen):
    """A point in time (``date`` for calendar days, ``moment`` to the minute)."""

    kind: Literal["when"] = "when"
    at: datetime
    style: Literal["date", "moment"] = "moment"


class Size(Frozen):
    """A byte count, humanised by the renderer (``signed`` for growth: ``+1.20 TiB``)."""

    kind: Literal["size"] = "size"
    bytes: float
    signed: bool = False


class Duration(Frozen):
    """A length of time, humanised by the renderer (``clock``: ``1 h 05 min`` for timelines)."""

    kind: Literal["duration"] = "duration"
    seconds: float
    clock: bool = False


class Emoji(Frozen):
    """A Slack emoji by name (``hourglass``); the text renderer leaves it out."""

    kind: Literal["emoji"] = "emoji"
    name: str


Span = Code | Bold | Link | Mention | When | Size | Duration | Emoji
Inline = str | Span
Text = str | tuple[Inline, ...]
"""Plain text, or plain text interleaved with typed spans."""


def spans(*parts: Inline | tuple[Inline, ...]) -> tuple[Inline, ...]:
    """Build a :data:`Text` from plain strings, spans and other span tuples (flattened)."""
    out: list[Inline] = []
    for part in parts:
        if isinstance(part, tuple):
            out.extend(part)
        elif part != "":
            out.append(part)
    return tuple(out)


def join(parts: list[Text] | tuple[Text, ...], separator: str = ", ") -> tuple[Inline, ...]:
    """``parts`` one after another with ``separator`` between them."""
    out: list[Inline] = []
    for index, part in enumerate(parts):
        if index:
            out.append(separator)
        out.extend((part,) if isinstance(part, str) else part)
    return tuple(out)


def code(text: object) -> Code:
    """``text`` verbatim."""
    return Code(text=str(text))


def bold(text: object) -> Bold:
    """``text`` emphasised."""
    return Bold(text=str(text))


def link(url: str, label: str) -> Link:
    """A link labelled ``label``."""
    return Link(url=url, label=label)


def mention(user: str) -> Mention:
    """A user (``U…``/``W…``), a user group (``S…``) or a channel (``C…``/``G…``) by id."""
    of: Literal["user", "group", "channel"] = (
        "group" if user.startswith("S") else "channel" if user[:1] in ("C", "G") else "user"
    )
    return Mention(id=user, of=of)


def size(value: float, *, signed: bool = False) -> Size:
    """A byte count."""
    return Size(bytes=value, signed=signed)


def duration(value: float | timedelta, *, clock: bool = False) -> Duration:
    """A length of time (seconds or a timedelta)."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return Duration(seconds=seconds, clock=clock)


def when(at: datetime, style: Literal["date", "moment"] = "moment") -> When:
    """A point in time."""
    return When(at=at, style=style)


def emoji(name: str) -> Emoji:
    """A Slack emoji (``hourglass``), shown only where emoji exist."""
    return Emoji(name=name.strip(":"))


# ----------------------------------------------------------------------------- blocks


class KeyValue(Frozen):
    """A label/value pair shown side by side."""

    label: str
    value: Text


class Row(Frozen):
    """A line with its own verdict (one tenant, one node, one check)."""

    status: Status | None = None
    text: Text


class Action(Frozen):
    """A button offered under a report (run a command, approve, ...)."""

    label: str
    action_id: str
    value: str
    style: str | None = None  # "primary" | "danger"
    confirm: str | None = None  # confirm dialog text, for anything that changes state


class Section(Frozen):
    """One part of a report. `error` set means the section could not be gathered."""

    title: str
    status: Status | None = None
    rows: list[Row] = Field(default_factory=list)
    lines: list[Text] = Field(default_factory=list)
    fields: list[KeyValue] = Field(default_factory=list)
    error: Text | None = None
    # Buttons that belong to this section (a checklist step's Check/Run), drawn right under it.
    actions: list[Action] = Field(default_factory=list)
    # Detail people open on demand (the daily report's per-tenant details): where messages have threads,
    # the renderer puts it in the thread, never in the first message; elsewhere it follows in place.
    in_thread: bool = False


class Chart(Frozen):
    """A PNG to upload next to the report."""

    filename: str
    title: str
    png: bytes


class Report(Frozen):
    """A complete answer to a command."""

    title: str
    status: Status | None = None
    summary: Text = ""
    reasons: list[Text] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    footer: list[Text] = Field(default_factory=list)
    charts: list[Chart] = Field(default_factory=list)
    ephemeral: bool = False  # only the caller sees it (help, errors, denials)
    failed: bool = False  # the command was refused or could not run

    @property
    def exit_code(self) -> int:
        """0/1/2 for healthy/degraded/unhealthy reports; 3 when the command was refused or failed."""
        if self.failed:
            return 3
        return self.status.exit_code if self.status else 0


def notice(text: Text, title: str = "") -> Report:
    """A short ephemeral message to the caller that says why a command did not run."""
    return Report(title=title, summary=text, ephemeral=True, failed=True)
