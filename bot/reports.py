"""What handlers return and renderers draw: typed, transport-free report models.

A handler never builds Slack blocks or terminal text. It returns one of these
models; `bot/render/` turns it into Block Kit or plain text.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


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


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class KeyValue(_Frozen):
    """A label/value pair shown side by side."""

    label: str
    value: str


class Row(_Frozen):
    """A line with its own verdict (one tenant, one node, one check)."""

    status: Status | None = None
    text: str


class Action(_Frozen):
    """A button offered under a report (run a command, approve, ...)."""

    label: str
    action_id: str
    value: str
    style: str | None = None  # "primary" | "danger"
    confirm: str | None = None  # confirm dialog text, for anything that changes state


class Section(_Frozen):
    """One part of a report. `error` set means the section could not be gathered."""

    title: str
    status: Status | None = None
    rows: list[Row] = Field(default_factory=list)
    lines: list[str] = Field(default_factory=list)
    fields: list[KeyValue] = Field(default_factory=list)
    error: str | None = None
    # Buttons that belong to this section (a checklist step's Check/Run), drawn right under it.
    actions: list[Action] = Field(default_factory=list)


class Chart(_Frozen):
    """A PNG to upload next to the report."""

    filename: str
    title: str
    png: bytes


class Report(_Frozen):
    """A complete answer to a command."""

    title: str
    status: Status | None = None
    summary: str = ""
    reasons: list[str] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    footer: list[str] = Field(default_factory=list)
    charts: list[Chart] = Field(default_factory=list)
    ephemeral: bool = False  # only the caller sees it (help, errors, denials)
    failed: bool = False  # the command was refused or could not run

    @property
    def exit_code(self) -> int:
        """0/1/2 for healthy/degraded/unhealthy reports; 3 when the command was refused or failed."""
        if self.failed:
            return 3
        return self.status.exit_code if self.status else 0


def notice(text: str, title: str = "") -> Report:
    """A short ephemeral message to the caller that says why a command did not run."""
    return Report(title=title, summary=text, ephemeral=True, failed=True)
