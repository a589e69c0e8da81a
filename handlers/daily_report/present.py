"""The daily report as a `Report`: one compact line per tenant, per-tenant details for the thread.

The head lists every tenant (worst first) and the maintenance windows left open;
each tenant's details are sections marked `in_thread`, so chat renderers put them
in the message's thread (however many replies that takes) and the terminal shows
them in place. No character counting here: splitting is the renderer's job.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import ChannelConfig
from bot.report import Action, Report, Row, Section, Status, Text, bold, code, duration, emoji, mention, spans
from bot.store import DeliveryStatus, MaintenanceWindow
from handlers.capacity import summary_line
from handlers.daily_report.evaluate import overall, tally, worst_first
from handlers.daily_report.facts import ReportFacts, ScheduleFacts, TenantFacts

MAX_REASONS = 4  # reasons per tenant in its details; `/minio health <tenant>` has them all
MAX_ATTENTION_ROWS = 5  # sections needing attention per tenant
LATE_AFTER = timedelta(minutes=5)  # a report sent later than this says so in its footer
POST_NOW = Action(label="Post a report now", action_id="run:report:now", value="/minio report now")


def _zone(channel: ChannelConfig | None) -> ZoneInfo:
    return ZoneInfo(channel.report.timezone if channel and channel.report else "UTC")


def capacity_text(facts: TenantFacts) -> Text:
    """The tenant's capacity line, or why it is unknown."""
    if facts.capacity is not None:
        return summary_line(facts.capacity)
    return spans("capacity unknown: ", facts.capacity_error or "no data")


def tenant_row(facts: TenantFacts) -> Row:
    """The head message's line for one tenant: verdict, capacity and the first reason for a problem."""
    text = spans(bold(facts.tenant), f" {facts.status.value} · ", capacity_text(facts))
    if facts.health is None:
        text = spans(text, " · health not checked: ", facts.health_error or "no answer")
    elif facts.health.reasons and facts.status is not Status.HEALTHY:
        text = spans(text, " · ", facts.health.reasons[0])
    return Row(status=facts.status, text=text)


def _attention(facts: TenantFacts) -> list[Row]:
    """The health sections that need attention, each with its worst row."""
    rows: list[Row] = []
    for section in facts.health.sections if facts.health else []:
        if section.error:
            rows.append(Row(status=Status.UNKNOWN, text=spans(f"{section.title}: not checked (", section.error, ")")))
        elif section.status is not None and section.status.severity > 0:
            worst_row = next((r for r in section.rows if r.status == section.status), None)
            detail = spans(": ", worst_row.text) if worst_row else ""
            rows.append(Row(status=section.status, text=spans(section.title, detail)))
    return rows[:MAX_ATTENTION_ROWS]


def tenant_details(facts: TenantFacts) -> Section:
    """The thread's section for one tenant: why it has its verdict, and what needs attention."""
    lines: list[Text] = []
    if facts.health is None:
        lines.append(spans(emoji("warning"), " health not checked: ", facts.health_error or "no answer"))
    else:
        reasons = facts.health.reasons
        lines += [spans("• ", r) for r in reasons[:MAX_REASONS]] or ["Every health check passed."]
        if len(reasons) > MAX_REASONS:
            more = len(reasons) - MAX_REASONS
            lines.append(spans(f"• … and {more} more (", code(f"/minio health {facts.tenant}"), ")"))
    lines.append(spans("Capacity: ", capacity_text(facts)))
    return Section(title=facts.tenant, status=facts.status, lines=lines, rows=_attention(facts), in_thread=True)


def _overdue_section(overdue: list[MaintenanceWindow] | str, now: datetime) -> Section | None:
    if isinstance(overdue, str):
        return Section(title="Maintenance windows", error=spans(overdue))
    if not overdue:
        return None
    rows = [
        Row(
            status=Status.DEGRADED,
            text=spans(
                bold(w.tenant), ": window opened by ", mention(w.started_by), " ended ", duration(now - w.until),
                " ago and is still open — close it with ", code(f"/minio maintenance {w.tenant} disable"),
            ),
        )
        for w in overdue
    ]
    return Section(title="Maintenance windows past their end", status=Status.DEGRADED, rows=rows)


def _footer(
    channel: ChannelConfig | None, now: datetime, scheduled_for: datetime | None, requested_by: str | None,
    tenants: int,
) -> list[Text]:
    zone = _zone(channel)
    footer: list[Text] = []
    if scheduled_for is not None:
        local = scheduled_for.astimezone(zone)
        when = f"Scheduled for {local:%H:%M} {zone.key}"
        if now - scheduled_for > LATE_AFTER:
            when += f"; sent late at {now.astimezone(zone):%H:%M} (the bot was down or busy at that time)"
        footer.append(when)
    if requested_by:
        footer.append(spans("Requested by ", mention(requested_by)))
    if not tenants:
        footer.append("No tenants are visible in this channel.")
    return footer


def build_report(
    channel: ChannelConfig | None,
    facts: ReportFacts,
    *,
    now: datetime,
    scheduled_for: datetime | None,
    requested_by: str | None = None,
) -> Report:
    """The channel's report: date, verdict counts, one row per tenant (worst first), overdue windows; then
    each tenant's details for the thread."""
    day = (scheduled_for or now).astimezone(_zone(channel))
    healthy, problems = tally(facts.tenants)
    counts = ", ".join([f"{healthy} healthy"] + [f"{n} {status.value.lower()}" for status, n in problems])
    ordered = worst_first(facts.tenants)
    sections = [Section(title="Tenants", rows=[tenant_row(f) for f in ordered])]
    overdue = _overdue_section(facts.overdue, now)
    if overdue is not None:
        sections.append(overdue)
    sections += [tenant_details(f) for f in ordered]
    return Report(
        title=f"Daily MinIO report — {day:%a %d %b %Y}",
        status=overall(facts.tenants),
        summary=f"{len(facts.tenants)} tenant(s): {counts}.",
        sections=sections,
        footer=_footer(channel, now, scheduled_for, requested_by, len(facts.tenants)),
    )


def _in(delta: timedelta) -> Text:
    return "now" if delta.total_seconds() < 60 else spans("in ", duration(delta))


def no_schedule_report() -> Report:
    """`/minio report` in a channel without a daily report: how to get one (ephemeral)."""
    example = code('report: {cron: "0 9 * * *", timezone: Europe/Berlin}')
    return Report(
        title="Daily report",
        summary=spans(
            "This channel has no daily report. An admin can add one under this channel in the configuration: ",
            example, ".",
        ),
        actions=[POST_NOW],
        ephemeral=True,
    )


def schedule_report(facts: ScheduleFacts, now: datetime, catch_up_hours: float) -> Report:
    """When this channel's daily report comes, and when it last came (ephemeral)."""
    schedule = facts.schedule
    zone = ZoneInfo(schedule.timezone)
    lines: list[Text] = [spans("Schedule: cron ", code(schedule.cron), f" in {schedule.timezone}")]
    if facts.upcoming is not None:
        lines.append(spans(f"Next: {facts.upcoming.astimezone(zone):%a %d %b %H:%M %Z} (", _in(facts.upcoming - now),
                           ")"))
    if facts.last_error is not None:
        lines.append(spans("Last sent: unknown (", facts.last_error, ")"))
    elif facts.last_sent is not None:
        lines.append(f"Last sent: {facts.last_sent.astimezone(zone):%a %d %b %H:%M %Z}")
    else:
        lines.append("Last sent: never")
    owed = facts.unsettled
    if owed is not None:
        due = f"{owed.scheduled_for.astimezone(zone):%a %d %b %H:%M %Z}"
        why = spans(" (", owed.last_error, ")") if owed.last_error else spans()
        if owed.status == DeliveryStatus.UNDELIVERED:
            lines.append(spans(f"The report due {due} could not be delivered", why, "."))
        else:
            lines.append(spans(f"The report due {due} is not in the channel yet; the bot keeps trying", why, "."))
    lines.append(
        f"A report missed while the bot was down is sent once when it is back, up to {catch_up_hours:g} h late."
    )
    return Report(
        title="Daily report", sections=[Section(title="This channel", lines=lines)], actions=[POST_NOW],
        ephemeral=True,
    )


def posted_report(tenants: int) -> Report:
    """The caller's confirmation after `/minio report now` (ephemeral)."""
    return Report(
        title="Daily report",
        summary=f"Posted the report for {tenants} tenant(s) in this channel; details are in its thread.",
        ephemeral=True,
    )
