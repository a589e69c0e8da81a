"""The daily channel report, and `/minio report [now]` to see its schedule or get one at once.

One message per channel: a header with the date, then one row per tenant the
channel may see (health verdict, % used, 7-day growth, days until 80 %) and
any maintenance window left open past its end. Per-tenant details (the reasons
and the sections that need attention) follow in that message's thread, a few
tenants per reply, so the channel shows one compact message a day.

The scheduler (`bot/scheduler.py`) calls `send_daily_report` after claiming the
day's slot; `/minio report now` calls it directly (unclaimed: on demand is
always allowed). Both gather every tenant in parallel, bounded by
`scheduler.parallel`, each under the report deadline.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.application import Capability, Job
from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.commands import Arg, Verb, escape
from bot.config import ChannelConfig, TenantConfig
from bot.invocation import Invocation, UserError
from bot.outbox import Outbox, OutboxError
from bot.render.inline import to_plain
from bot.report import Action, Report, Row, Section, Status, worst
from bot.runtime import Runtime
from bot.scheduler import report_job_id, report_trigger
from bot.store import MaintenanceWindow, StoreError
from bot.triggers import next_fire_time
from handlers.capacity import CapacitySummary, capacity_summary, summary_line
from handlers.health import TenantHealth, check_tenant

log = logging.getLogger("minio_chatops.reports")

# Every message the report posts must be ONE Slack message (the renderer would otherwise split it,
# and a rate-limit retry of a split message could repeat its first part). Slack fails messages
# around 13k characters of blocks; these bounds keep each one under 10k.
HEAD_ROWS = 50  # tenant lines in the head message; more continue in the thread
ROW_CHARS = 160
THREAD_MESSAGE_CHARS = 8000
THREAD_MESSAGE_TENANTS = 10
MAX_REASONS = 4
MAX_ATTENTION_ROWS = 5
LATE_AFTER = timedelta(minutes=5)  # a report sent later than this says so in its footer
RATELIMIT_ATTEMPTS = 4  # outbox-level retries on top of the Delivery's own Retry-After handling


@dataclass(frozen=True)
class Sources:
    """Where a report's facts come from; tests pass stand-ins."""

    health: Callable[[Runtime, TenantConfig, float], TenantHealth] = check_tenant
    capacity: Callable[[Runtime, TenantConfig], CapacitySummary] = capacity_summary


class TenantFacts(BaseModel):
    """What the report knows about one tenant (either part may have failed)."""

    model_config = ConfigDict(frozen=True)

    tenant: str
    health: TenantHealth | None = None
    health_error: str | None = None
    capacity: CapacitySummary | None = None
    capacity_error: str | None = None

    @property
    def status(self) -> Status:
        return self.health.status if self.health is not None else Status.UNKNOWN

    @property
    def capacity_text(self) -> str:
        if self.capacity is not None:
            return to_plain(summary_line(self.capacity))
        return f"capacity unknown: {self.capacity_error or 'no data'}"


@dataclass
class SentReport:
    """What `send_daily_report` posted."""

    ts: str
    tenants: int
    thread_messages: int = 0
    failed_parts: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- gathering


def _capacity_or_error(
    sources: Sources, runtime: Runtime, tenant: TenantConfig
) -> CapacitySummary | str:
    try:
        return sources.capacity(runtime, tenant)
    except StoreError as exc:  # history lives in the store; a store outage must not sink the report
        return f"store unavailable: {exc.message}"
    except ClientError as exc:
        return str(exc)


def gather(runtime: Runtime, tenants: list[TenantConfig], sources: Sources | None = None) -> list[TenantFacts]:
    """Health and capacity of every tenant, in parallel (bounded), in the order given; never raises."""
    sources = sources or Sources()
    if not tenants:
        return []
    deadline = runtime.config.timeouts.report_deadline
    workers = runtime.config.scheduler.parallel
    calls: dict[str, Callable[[], object]] = {}
    for tenant in tenants:
        calls[f"health:{tenant.name}"] = partial(sources.health, runtime, tenant, deadline)
        calls[f"capacity:{tenant.name}"] = partial(_capacity_or_error, sources, runtime, tenant)
    # fan_out has one deadline for everything: allow one report deadline per wave of workers.
    waves = math.ceil(len(calls) / workers)
    results = fan_out(calls, deadline_s=waves * (deadline + 1) + 1, max_workers=workers)
    facts: list[TenantFacts] = []
    for tenant in tenants:
        health = results[f"health:{tenant.name}"]
        capacity = results[f"capacity:{tenant.name}"]
        facts.append(
            TenantFacts(
                tenant=tenant.name,
                health=health if isinstance(health, TenantHealth) else None,
                health_error=None if isinstance(health, TenantHealth) else str(health),
                capacity=capacity if isinstance(capacity, CapacitySummary) else None,
                capacity_error=None if isinstance(capacity, CapacitySummary) else str(capacity),
            )
        )
    return facts


def overdue_windows(runtime: Runtime, tenants: list[TenantConfig], now: datetime) -> list[MaintenanceWindow]:
    """Maintenance windows of these tenants still open past their end (raises StoreError)."""
    names = {t.name for t in tenants}
    return [w for w in runtime.store.maintenance.overdue(now) if w.tenant in names]


# ----------------------------------------------------------------------------- building


def _zone(channel: ChannelConfig | None) -> ZoneInfo:
    return ZoneInfo(channel.report.timezone if channel and channel.report else "UTC")


def _ago(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d"


def tenant_row(facts: TenantFacts) -> Row:
    """The head message's line for one tenant."""
    text = f"*{facts.tenant}* {facts.status.value} · {facts.capacity_text}"
    if facts.health is None:
        text += f" · health not checked: {escape(facts.health_error or 'no answer', 120)}"
    elif facts.health.reasons and facts.status is not Status.HEALTHY:
        text += f" · {facts.health.reasons[0]}"
    return Row(status=facts.status, text=text if len(text) <= ROW_CHARS else text[: ROW_CHARS - 1] + "…")


def tenant_details(facts: TenantFacts) -> Section:
    """The thread's section for one tenant: why it has its verdict, and what needs attention."""
    lines: list[str] = []
    rows: list[Row] = []
    if facts.health is None:
        lines.append(f":warning: health not checked: {escape(facts.health_error or 'no answer', 200)}")
    else:
        reasons = facts.health.reasons[:MAX_REASONS]
        lines += [f"• {r[:200]}" for r in reasons] or ["Every health check passed."]
        if len(facts.health.reasons) > MAX_REASONS:
            lines.append(f"• … and {len(facts.health.reasons) - MAX_REASONS} more (`/minio health {facts.tenant}`)")
        for section in facts.health.sections:
            if section.error:
                rows.append(Row(status=Status.UNKNOWN, text=f"{section.title}: not checked ({section.error[:150]})"))
            elif section.status is not None and section.status.severity > 0:
                worst_row = next((r for r in section.rows if r.status == section.status), None)
                detail = f": {worst_row.text[:150]}" if worst_row else ""
                rows.append(Row(status=section.status, text=f"{section.title}{detail}"))
    lines.append(f"Capacity: {facts.capacity_text}")
    return Section(title=facts.tenant, status=facts.status, lines=lines, rows=rows[:MAX_ATTENTION_ROWS])


def build_head(
    channel: ChannelConfig | None,
    facts: list[TenantFacts],
    *,
    now: datetime,
    scheduled_for: datetime | None,
    overdue: list[MaintenanceWindow] | str,
    requested_by: str | None = None,
) -> Report:
    """The channel message: date, verdict counts, one row per tenant (worst first), overdue windows."""
    zone = _zone(channel)
    day = (scheduled_for or now).astimezone(zone)
    statuses = [f.status for f in facts]
    counts = [(s, sum(1 for f in facts if f.status is s)) for s in (Status.UNHEALTHY, Status.DEGRADED, Status.UNKNOWN)]
    healthy = sum(1 for f in facts if f.status in (Status.HEALTHY, Status.INFO))
    parts = [f"{healthy} healthy"] + [f"{n} {s.value.lower()}" for s, n in counts if n]
    summary = f"{len(facts)} tenant(s): " + ", ".join(parts) + "."
    ordered = sorted(facts, key=lambda f: -f.status.severity)  # problems first; ties keep config order
    rows = [tenant_row(f) for f in ordered[:HEAD_ROWS]]
    more = f" (first {HEAD_ROWS}; the rest open the thread)" if len(ordered) > HEAD_ROWS else ""
    sections = [Section(title=f"Tenants{more}", rows=rows)]
    if isinstance(overdue, str):
        sections.append(Section(title="Maintenance windows", error=overdue))
    elif overdue:
        rows = [
            Row(
                status=Status.DEGRADED,
                text=f"*{w.tenant}*: window opened by <@{w.started_by}> ended {_ago(now - w.until)} ago and is "
                f"still open — close it with `/minio maintenance {w.tenant} disable`",
            )
            for w in overdue
        ]
        sections.append(Section(title="Maintenance windows past their end", status=Status.DEGRADED, rows=rows))
    footer: list[str] = []
    if scheduled_for is not None:
        local = scheduled_for.astimezone(zone)
        when = f"Scheduled for {local:%H:%M} {zone.key}"
        if now - scheduled_for > LATE_AFTER:
            when += f"; sent late at {now.astimezone(zone):%H:%M} (the bot was down or busy at that time)"
        footer.append(when)
    if requested_by:
        footer.append(f"Requested by <@{requested_by}>")
    footer.append("Details per tenant are in the thread." if facts else "No tenants are visible in this channel.")
    return Report(
        title=f"Daily MinIO report — {day:%a %d %b %Y}",
        status=worst(statuses) if statuses else None,
        summary=summary,
        sections=sections,
        footer=footer,
    )


def _size(section: Section) -> int:
    """A generous estimate of a section's rendered size (text plus Block Kit overhead)."""
    return 120 + len(section.title) + sum(len(x) + 30 for x in section.lines) + sum(
        len(r.text) + 40 for r in section.rows
    )


def build_thread(facts: list[TenantFacts]) -> list[Report]:
    """The thread replies: head rows that did not fit, then tenant details, a message's worth at a time."""
    ordered = sorted(facts, key=lambda f: -f.status.severity)
    replies: list[Report] = []
    overflow = ordered[HEAD_ROWS:]
    for start in range(0, len(overflow), HEAD_ROWS):
        rows = [tenant_row(f) for f in overflow[start : start + HEAD_ROWS]]
        replies.append(Report(title="Tenants (continued)", sections=[Section(title="Tenants", rows=rows)]))
    chunks: list[list[Section]] = []
    size = 0
    for item in ordered:
        section = tenant_details(item)
        if not chunks or len(chunks[-1]) >= THREAD_MESSAGE_TENANTS or size + _size(section) > THREAD_MESSAGE_CHARS:
            chunks.append([])
            size = 0
        chunks[-1].append(section)
        size += _size(section)
    total, first = len(ordered), 1
    for chunk in chunks:
        last = first + len(chunk) - 1
        title = f"Details: tenants {first} to {last} of {total}" if total > 1 else "Details"
        replies.append(Report(title=title, sections=chunk))
        first = last + 1
    return replies


# ----------------------------------------------------------------------------- sending


def _post(outbox: Outbox, channel: str, report: Report, thread_ts: str | None = None) -> str:
    """Post one message; when Slack still rate-limits after the Delivery's retries, wait and try again.

    Only `ratelimited` is retried here: a 429 means Slack did not post the
    message, so a retry cannot double it (a timeout could have posted it).
    """
    for attempt in range(RATELIMIT_ATTEMPTS):
        try:
            return outbox.post(channel, report, thread_ts=thread_ts)
        except OutboxError as exc:
            if exc.code != "ratelimited" or attempt == RATELIMIT_ATTEMPTS - 1:
                raise
            time.sleep(2.0**attempt)
    raise AssertionError("unreachable")


def send_daily_report(
    runtime: Runtime,
    outbox: Outbox,
    channel_id: str,
    *,
    scheduled_for: datetime | None = None,
    now: datetime | None = None,
    sources: Sources | None = None,
    requested_by: str | None = None,
) -> SentReport:
    """Gather, build and post the report for one channel: the head message, then details in its thread.

    Raises OutboxError when the head message cannot be posted; a thread reply
    that fails is skipped and named in a last reply.
    """
    now = now or runtime.clock()
    channel = runtime.config.channel(channel_id)
    tenants = runtime.access.visible_tenants(channel_id, runtime.tenants())
    facts = gather(runtime, tenants, sources)
    overdue: list[MaintenanceWindow] | str
    try:
        overdue = overdue_windows(runtime, tenants, now) if tenants else []
    except StoreError as exc:
        overdue = f"could not check: {exc.message}"
    head = build_head(channel, facts, now=now, scheduled_for=scheduled_for, overdue=overdue,
                      requested_by=requested_by)
    ts = _post(outbox, channel_id, head)
    sent = SentReport(ts=ts, tenants=len(facts))
    for reply in build_thread(facts):
        try:
            _post(outbox, channel_id, reply, thread_ts=ts)
            sent.thread_messages += 1
        except OutboxError as exc:
            log.warning("report detail not posted", extra={"channel": channel_id, "error": exc.code or str(exc)})
            sent.failed_parts.append(reply.title)
    if sent.failed_parts:
        note = Report(title="", summary=":warning: Slack refused part of the details: " + ", ".join(sent.failed_parts))
        try:
            _post(outbox, channel_id, note, thread_ts=ts)
        except OutboxError:
            pass  # Slack is refusing everything; the log has it
    return sent


# ----------------------------------------------------------------------------- the verb


class ReportArgs(BaseModel):
    """`report` shows the schedule; `report now` posts a report at once."""

    model_config = ConfigDict(extra="forbid")
    when: Literal["now"] | None = None


def _in(delta: timedelta) -> str:
    return "now" if delta.total_seconds() < 60 else f"in {_ago(delta)}"


def schedule_report(inv: Invocation) -> Report:
    """When this channel's daily report comes, and when it last came (ephemeral)."""
    channel = inv.runtime.config.channel(inv.channel)
    post_now = Action(label="Post a report now", action_id="run:report:now", value="/minio report now")
    if channel is None or channel.report is None:
        return Report(
            title="Daily report",
            summary="This channel has no daily report. An admin can add one under this channel in the "
            'configuration: `report: {cron: "0 9 * * *", timezone: Europe/Berlin}`.',
            actions=[post_now],
            ephemeral=True,
        )
    schedule = channel.report
    zone = ZoneInfo(schedule.timezone)
    now = inv.runtime.clock()
    trigger = report_trigger(schedule)
    upcoming = next_fire_time(trigger, now)
    lines = [f"Schedule: cron `{schedule.cron}` in {schedule.timezone}"]
    if upcoming is not None:
        lines.append(f"Next: {upcoming.astimezone(zone):%a %d %b %H:%M %Z} ({_in(upcoming - now)})")
    try:
        last = inv.runtime.store.scheduler.last_claimed(report_job_id(inv.channel))
        lines.append(f"Last sent: {last.astimezone(zone):%a %d %b %H:%M %Z}" if last else "Last sent: never")
    except StoreError as exc:
        lines.append(f"Last sent: unknown ({exc.message})")
    lines.append(
        f"A report missed while the bot was down is sent once when it is back, up to "
        f"{inv.runtime.config.scheduler.catch_up_hours:g} h late."
    )
    return Report(
        title="Daily report",
        sections=[Section(title="This channel", lines=lines)],
        actions=[post_now],
        ephemeral=True,
    )


def report_command(inv: Invocation, args: ReportArgs) -> Report:
    """`/minio report [now]`."""
    if args.when != "now":
        return schedule_report(inv)
    if not inv.visible_tenants():
        raise UserError("No tenants are visible in this channel, so there is nothing to report.")
    try:
        sent = send_daily_report(inv.runtime, inv.outbox, inv.channel, requested_by=inv.user)
    except OutboxError as exc:
        raise UserError(f"I could not post the report here: {escape(str(exc), 200)}") from None
    return Report(
        title="Daily report",
        summary=f"Posted the report for {sent.tenants} tenant(s) in this channel; details are in its thread.",
        ephemeral=True,
    )


VERB = Verb(
    name="report",
    summary="The daily report: its schedule, or `now` to post one in this channel at once.",
    model=ReportArgs,
    handler=report_command,
    args=(Arg("when", "`now` posts the report at once", choices=("now",)),),
    details="One message with a line per tenant (health, % used, 7-day growth, days until 80 %); "
    "details per tenant in its thread.",
    examples=("/minio report", "/minio report now"),
    slow=True,
)

def _scheduled_report(runtime: Runtime, outbox: Outbox, channel_id: str, slot: datetime, now: datetime) -> object:
    return send_daily_report(runtime, outbox, channel_id, scheduled_for=slot, now=now)


capability = Capability("reports", __doc__)
capability.add_verb(VERB)
capability.job(Job.DAILY_REPORT)(_scheduled_report)
