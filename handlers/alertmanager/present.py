"""An alert group's one message: what fired, what the bot found, its verdict, and the buttons.

The same message is redrawn in place as the group changes (more alerts,
resolved, silenced, an incident declared), so everything it shows comes from
what is stored with the group: the :class:`~handlers.alertmanager.evaluate.GroupRecord`
(what fired) and the :class:`Evidence` (what the bot found when it last looked).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from bot.clients.errors import ClientError
from bot.models import Frozen
from bot.report import Action, Report, Row, Section, Status, Text, code, duration, join, mention, spans, when, worst
from bot.store import AlertGroup, Incident, MaintenanceWindow
from handlers.alertmanager.evaluate import Condition, GroupRecord, Observation, Verdict
from handlers.capacity import CapacitySummary, summary_line
from handlers.health import TenantHealth
from handlers.incidents.present import next_actions_section

DECLARE = "am-declare"
RERUN = "am-rerun"
SILENCE = "am-silence"
EXPIRE = "am-expire"

TOLERANCE_SECTION = "Storage integrity"  # the health section that says how many more nodes the tenant can lose
MAX_REASONS = 5
MAX_NEXT_ACTIONS = 3
_TITLES = {
    Condition.HEALTH: "Health",
    Condition.CAPACITY: "Capacity",
    Condition.PERFORMANCE: "Performance",
    Condition.SECURITY: "Security",
}
_PROBLEM = (Status.DEGRADED, Status.UNHEALTHY)


class Evidence(Frozen):
    """What the bot found for a group, kept with it so the message can be redrawn without looking again."""

    checked_at: datetime | None = None
    status: Status = Status.UNKNOWN
    reasons: list[Text] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    maintenance_until: datetime | None = None  # the tenant was in a maintenance window when the bot looked
    maintenance_by: str | None = None


def _health_sections(health: TenantHealth) -> list[Section]:
    kept = [s for s in health.sections if s.title == TOLERANCE_SECTION or s.status in _PROBLEM]
    return [s.model_copy(update={"title": f"Health · {s.title}"}) for s in kept]


def _capacity_section(summary: CapacitySummary) -> Section:
    if not summary.ok:
        return Section(title="Capacity", status=Status.UNKNOWN, error=summary.error or "no data")
    return Section(title="Capacity", status=summary.status,
                   rows=[Row(status=summary.status, text=summary_line(summary))])


def evidence(
    observations: dict[Condition, Observation], found: Verdict, checked_at: datetime,
    maintenance: MaintenanceWindow | None = None,
) -> Evidence:
    """The diagnostics' results as the message shows them: the problem sections, the tolerance, next steps."""
    sections: list[Section] = []
    reasons: list[Text] = []
    for condition, observed in observations.items():
        title = _TITLES[condition]
        if isinstance(observed, ClientError):
            sections.append(Section(title=title, status=Status.UNKNOWN, error=str(observed)))
        elif isinstance(observed, TenantHealth):
            reasons += observed.reasons[:MAX_REASONS]
            sections += _health_sections(observed)
        elif isinstance(observed, CapacitySummary):
            sections.append(_capacity_section(observed))
        else:
            kept = [s for s in observed.sections if s.status in _PROBLEM or s.error]
            sections += [s.model_copy(update={"title": f"{title} · {s.title}"}) for s in kept]
            if not kept:
                calm = Row(status=Status.HEALTHY, text="nothing abnormal found by these checks")
                sections.append(Section(title=title, status=Status.HEALTHY, rows=[calm]))
            if observed.next_actions:
                steps = next_actions_section(observed.next_actions[:MAX_NEXT_ACTIONS], f"{title} · next actions")
                sections.append(steps)
    return Evidence(
        checked_at=checked_at, status=found.status, reasons=reasons, sections=sections,
        maintenance_until=maintenance.until if maintenance else None,
        maintenance_by=maintenance.started_by if maintenance else None,
    )


# ----------------------------------------------------------------------------- the message


def what_fired(record: GroupRecord) -> Section:
    """One row per listed alert; how many more there are."""
    rows = []
    for alert in record.alerts:
        parts: list[Text] = [spans(code(alert.name))]
        if alert.severity:
            parts.append(alert.severity)
        if alert.summary:
            parts.append(alert.summary)
        if alert.labels:
            parts.append(join([spans(code(f"{k}={v}")) for k, v in alert.labels.items()], " "))
        since = spans("since ", when(alert.starts_at)) if alert.status == "firing" else spans("resolved")
        status = Status.HEALTHY if alert.status == "resolved" else record.severity
        rows.append(Row(status=status, text=join([*parts, since], " · ")))
    lines: list[Text] = []
    if record.total > len(record.alerts):
        lines.append(f"… and {record.total - len(record.alerts)} more alerts ({record.firing} firing in all).")
    if record.truncated:
        lines.append(f"Alertmanager left out {record.truncated} more (the receiver's max_alerts).")
    return Section(title="What fired", rows=rows, lines=lines)


def _headline(record: GroupRecord, found: Evidence, resolved: bool, now: datetime) -> Text:
    subject = spans(" for ", code(record.tenant)) if record.tenant else ""
    if resolved:
        ended = record.ended_at or now
        head = spans("Resolved ", when(ended), subject, " after ", duration(max(0.0, (ended - record.started_at)
                                                                               .total_seconds())), ".")
    else:
        count = f"{record.firing} alert firing" if record.firing == 1 else f"{record.firing} alerts firing"
        head = spans(count, subject, " since ", when(record.started_at), ".")
    if found.checked_at is None:
        return spans(head, " The bot had not seen these alerts firing.") if resolved else head
    verdict = spans(" The bot's checks", " now" if resolved else "", ": ", found.status.value)
    first = found.reasons[0] if found.reasons else None
    return spans(head, verdict, (spans(" (", first, ")") if first else ""), ".")


def _footer(group: AlertGroup, record: GroupRecord, found: Evidence, incident: Incident | None,
            now: datetime) -> list[Text]:
    lines: list[Text] = []
    if found.maintenance_until is not None and found.maintenance_until > now:
        by = spans(" opened by ", mention(found.maintenance_by)) if found.maintenance_by else ""
        lines.append(spans("Maintenance window", by, " until ", when(found.maintenance_until),
                           ": work on the tenant may explain this."))
    if group.silence_id and group.silenced_until and group.silenced_until > now:
        by = spans(" by ", mention(group.silenced_by)) if group.silenced_by else ""
        lines.append(spans("Silenced in Alertmanager", by, " until ", when(group.silenced_until), " (silence ",
                           code(group.silence_id), ")."))
    if incident is not None:
        where = spans(" in ", mention(incident.channel_id)) if incident.channel_id else ""
        lines.append(spans("Incident #", str(incident.id), " (", incident.severity, ") declared by ",
                           mention(incident.declared_by), where, "."))
    if found.checked_at is not None:
        lines.append(spans("Checked ", when(found.checked_at), "."))
    source = f"Alertmanager receiver {record.receiver}" if record.receiver else "Alertmanager"
    lines.append(spans("From ", source, " · group ", code(group.id[:12])))
    return lines


def _actions(group: AlertGroup, record: GroupRecord, incident: Incident | None, silence_hours: list[float],
             now: datetime) -> list[Action]:
    resolved = group.status == "resolved"
    actions: list[Action] = []
    if record.tenant and not resolved and incident is None:
        actions.append(Action(label="Declare incident", action_id=DECLARE, value=group.id, style="danger",
                              confirm="Open an incident channel with this evidence pinned?"))
    if record.tenant:
        actions.append(Action(label="Run diagnostics again", action_id=RERUN, value=group.id))
    if resolved or not record.matchers:
        return actions
    if group.silence_id and group.silenced_until and group.silenced_until > now:
        actions.append(Action(label="Expire silence", action_id=EXPIRE, value=group.id,
                              confirm="End the silence now? These alerts will notify again."))
        return actions
    for hours in silence_hours:
        label = f"{hours:g} h"
        actions.append(Action(label=f"Silence {label}", action_id=f"{SILENCE}:{hours:g}", value=f"{group.id} {hours:g}",
                              confirm=f"Silence these alerts in Alertmanager for {label}?"))
    return actions


def alert_message(
    group: AlertGroup, record: GroupRecord, found: Evidence, incident: Incident | None,
    silence_hours: list[float], now: datetime,
) -> Report:
    """The group's message (firing or resolved), with its buttons."""
    resolved = group.status == "resolved"
    if record.tenant is None:
        return unmapped_message(group, record, now)
    status = Status.HEALTHY if resolved else worst([record.severity, found.status])
    return Report(
        title=f"{'Resolved: ' if resolved else ''}{record.title} on {record.tenant}",
        status=status,
        summary=_headline(record, found, resolved, now),
        reasons=found.reasons,
        sections=[what_fired(record), *found.sections],
        actions=_actions(group, record, incident, silence_hours, now),
        footer=_footer(group, record, found, incident, now),
    )


def unmapped_message(group: AlertGroup, record: GroupRecord, now: datetime) -> Report:
    """An alert group that names no known tenant: posted once to the fallback channel, with the reason."""
    resolved = group.status == "resolved"
    return Report(
        title=f"{'Resolved: ' if resolved else ''}{record.title} (no tenant)",
        status=Status.HEALTHY if resolved else record.severity,
        summary=spans("No diagnostics ran: ", record.unmapped_reason, "."),
        sections=[what_fired(record)],
        footer=[
            spans("Map alerts to tenants with ", code("alertmanager.labels"), ", ", code("clusters[].alert_labels"),
                  " or a tenant's ", code("prometheus_selector"), "."),
            *_footer(group, record, Evidence(), None, now),
        ],
    )


def evidence_report(record: GroupRecord, found: Evidence) -> Report:
    """The snapshot pinned in an incident channel declared from the alert."""
    return Report(
        title=f"Evidence: {record.title} on {record.tenant}",
        status=worst([record.severity, found.status]),
        summary=spans("From Alertmanager: ", str(record.firing), " firing since ", when(record.started_at),
                      ". What the bot found at ", when(found.checked_at) if found.checked_at else "no time", ":"),
        reasons=found.reasons,
        sections=[what_fired(record), *found.sections],
    )


def timeline_text(record: GroupRecord) -> str:
    """One line for an incident's timeline (plain text)."""
    state = "resolved" if record.status == "resolved" else f"firing ({record.firing} alerts)"
    detail = f": {record.summary}" if record.summary else ""
    return f"Alertmanager {record.title} {state}{detail}"
