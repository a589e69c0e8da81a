"""The daily report: once a day, one message per channel with a line per tenant, details in its thread.

Each channel with a `report` schedule gets, at its local time, one message: the
date, how many tenants are healthy, one line per tenant the channel may see
(health verdict, % used, 7-day growth, days until 80 %, worst first) and any
maintenance window left open past its end. Each tenant's details (the reasons
and the checks that need attention) follow in that message's thread.
`/minio report` shows the schedule; `/minio report now` posts a report at once.

The scheduler claims each day's slot, runs the job, and marks the slot
delivered; a report Slack did not take is retried until it is in the channel
once (or the channel is told it could not be), across restarts and replicas.
On demand is always allowed. Modules: `facts`
(health and capacity of every tenant: one fan-out, one deadline), `evaluate`
(verdicts), `present` (the Report).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.application import Capability, Job
from bot.commands import Arg
from bot.invocation import Invocation, UserError
from bot.outbox import Outbox, OutboxError
from bot.report import Report, spans
from bot.runtime import Runtime
from handlers.daily_report.facts import Sources, TenantFacts, gather, overdue_windows, schedule_facts
from handlers.daily_report.present import build_report, no_schedule_report, posted_report, schedule_report

__all__ = [
    "Sources", "TenantFacts", "build_report", "capability", "overdue_windows", "report_command", "send_daily_report",
]

capability = Capability("daily-report", __doc__)


@dataclass
class SentReport:
    """What `send_daily_report` posted: the message id and how many tenants it covers."""

    ts: str
    tenants: int


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
    """Gather, build and post the report for one channel (delivery puts the details in its thread).

    Raises OutboxError when it cannot be posted.
    """
    now = now or runtime.clock()
    tenants = runtime.access.visible_tenants(channel_id, runtime.tenants())
    facts = gather(runtime, tenants, now, sources)
    channel = runtime.config.channel(channel_id)
    report = build_report(channel, facts, now=now, scheduled_for=scheduled_for, requested_by=requested_by)
    return SentReport(ts=outbox.post(channel_id, report), tenants=len(facts.tenants))


@capability.job(Job.DAILY_REPORT)
def scheduled_report(runtime: Runtime, outbox: Outbox, channel_id: str, slot: datetime, now: datetime) -> SentReport:
    """The scheduler's daily run for one channel (one attempt at a slot it claimed; it owns the retries)."""
    return send_daily_report(runtime, outbox, channel_id, scheduled_for=slot, now=now)


class ReportArgs(BaseModel):
    """`report` shows the schedule; `report now` posts a report at once."""

    model_config = ConfigDict(extra="forbid")
    when: Literal["now"] | None = None


@capability.verb(
    "report",
    summary="The daily report: its schedule, or post one in this channel now.",
    model=ReportArgs,
    args=(Arg("when", "now: post the report at once", choices=("now",)),),
    details="One message with a line per tenant (health, % used, 7-day growth, days until 80 %); "
    "details per tenant in its thread.",
    examples=("/minio report", "/minio report now"),
    slow=True,
)
def report_command(inv: Invocation, args: ReportArgs) -> Report:
    """`/minio report [now]`."""
    if args.when != "now":
        channel = inv.runtime.config.channel(inv.channel)
        if channel is None or channel.report is None:
            return no_schedule_report()
        now = inv.runtime.clock()
        facts = schedule_facts(inv.runtime, inv.channel, channel.report, now)
        return schedule_report(facts, now, inv.runtime.config.scheduler.catch_up_hours)
    if not inv.visible_tenants():
        raise UserError("No tenants are visible in this channel, so there is nothing to report.")
    try:
        sent = send_daily_report(inv.runtime, inv.outbox, inv.channel, requested_by=inv.user)
    except OutboxError as exc:
        raise UserError(spans("I could not post the report here: ", str(exc))) from None
    return posted_report(sent.tenants)
