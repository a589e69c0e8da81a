"""Capacity: what each tenant uses and has left, how fast it grows, when it fills up, and what to add.

`/minio capacity <tenant>` shows raw and usable used/free (usable counts data
drives only), the largest buckets from MinIO's scanner (never an object
listing) and how fresh they are, growth over 24 h / 7 d / 30 d, a Theil-Sen
forecast of 80 % and full with its 95 % interval, a pool sized to stay under the
plan threshold, and a chart. Without a tenant: one line per tenant visible in
the channel. Every hour the bot stores a snapshot of each tenant; the forecast
reads those (or Prometheus, when a tenant configures it).

Other capabilities use `capacity_summary` and `summary_line` (the daily report,
alerts) and `drive_totals`, `top_buckets`, `STALE_AFTER` (scaling, incidents).

Modules: `facts` (every client call: one fan-out, one deadline), `evaluate` and
`forecast` (pure), `present` (the reports), `chart` (the PNG), `history` and
`prometheus` (reading the history), `snapshot` (the hourly job).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from bot.application import Capability, Job
from bot.clients.errors import ClientError
from bot.commands import Arg
from bot.config import TenantConfig
from bot.invocation import Invocation
from bot.report import Report
from bot.runtime import Runtime
from handlers.capacity.chart import render_capacity_chart
from handlers.capacity.evaluate import (
    STALE_AFTER,
    CapacityNow,
    CapacitySummary,
    drive_totals,
    measured,
    summary_of,
    top_buckets,
)
from handlers.capacity.facts import gather, tenant_config
from handlers.capacity.present import build_report, build_summary_report, summary_line
from handlers.capacity.snapshot import take_snapshot

__all__ = [
    "STALE_AFTER",
    "CapacityNow",
    "CapacitySummary",
    "build_report",
    "capability",
    "capacity_command",
    "capacity_summaries",
    "capacity_summary",
    "drive_totals",
    "measure",
    "summary_line",
    "summary_report",
    "take_snapshot",
    "tenant_report",
    "top_buckets",
]

capability = Capability("capacity", __doc__)
capability.job(Job.SNAPSHOT)(take_snapshot)


def measure(runtime: Runtime, tenant: TenantConfig | str) -> CapacityNow:
    """The tenant's capacity now (MinIO's `info` and `datausageinfo`); raises the ClientError of a failed call."""
    [facts] = gather(runtime, [tenant_config(runtime, tenant)])
    current = measured(facts)
    if isinstance(current, ClientError):
        raise current
    return current


def capacity_summaries(runtime: Runtime, tenants: list[TenantConfig]) -> list[CapacitySummary]:
    """Every tenant's summary figures (% used, 7-day growth, days until 80 %) from one fan-out; never raises."""
    return [summary_of(facts) for facts in gather(runtime, tenants, history=True)]


def capacity_summary(runtime: Runtime, tenant: TenantConfig | str) -> CapacitySummary:
    """One tenant's summary figures (the daily report's and alerts' line); never raises for MinIO or the store."""
    [summary] = capacity_summaries(runtime, [tenant_config(runtime, tenant)])
    return summary


def tenant_report(runtime: Runtime, tenant: TenantConfig, with_chart: bool = True) -> Report:
    """One tenant's full capacity report: MinIO, history and last week's bucket sizes in one fan-out."""
    [facts] = gather(runtime, [tenant], history=True, buckets=True)
    history = facts.history if facts.history is not None else []
    chart = render_capacity_chart if with_chart else None
    return build_report(tenant, measured(facts), history, facts.bucket_reference, facts.at, chart)


def summary_report(runtime: Runtime, tenants: list[TenantConfig]) -> Report:
    """One row per tenant: its summary line."""
    return build_summary_report(capacity_summaries(runtime, tenants))


class CapacityArgs(BaseModel):
    """Arguments of `/minio capacity`."""

    model_config = ConfigDict(extra="forbid")
    tenant: str | None = None


@capability.verb(
    "capacity",
    summary="Capacity: used/free, top buckets, growth, forecast of 80 % and full, and a chart.",
    model=CapacityArgs,
    args=(Arg("tenant", "a tenant; without it, one summary line per tenant visible here"),),
    details=(
        "Usable capacity counts data drives only. Bucket sizes come from MinIO's scanner (never from listing "
        "objects). The forecast is a Theil-Sen fit over the stored hourly snapshots, with a 95 % interval."
    ),
    examples=("/minio capacity demo", "/minio capacity"),
    slow=True,
)
def capacity_command(inv: Invocation, args: CapacityArgs) -> Report:
    """`/minio capacity [tenant]`: the full report for one tenant, or a summary row per visible tenant."""
    if args.tenant:
        return tenant_report(inv.runtime, inv.tenant(args.tenant))
    return summary_report(inv.runtime, inv.tenants_or_one(None))
