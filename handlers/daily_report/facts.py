"""What the daily report knows: each tenant's health and capacity, and maintenance windows left open.

Everything is gathered in ONE fan-out under ONE deadline, bounded by
`scheduler.parallel` workers; a part that fails is kept as the reason, so the
report still goes out. The schedule facts (`/minio report`) are one store read.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.config import ReportSchedule, TenantConfig
from bot.models import Frozen
from bot.report import Status
from bot.runtime import Runtime
from bot.scheduler import report_job_id, report_trigger
from bot.store import DeliveryStatus, MaintenanceWindow, ReportDelivery, StoreError
from bot.triggers import next_fire_time
from handlers.capacity import CapacitySummary, capacity_summary
from handlers.health import TenantHealth, check_tenant

OVERDUE = "maintenance windows"  # the fan-out key of the maintenance-window read


@dataclass(frozen=True)
class Sources:
    """Where a report's facts come from; tests pass stand-ins."""

    health: Callable[[Runtime, TenantConfig, float], TenantHealth] = check_tenant
    capacity: Callable[[Runtime, TenantConfig], CapacitySummary] = capacity_summary


class TenantFacts(Frozen):
    """What the report knows about one tenant (either part may have failed, with the reason)."""

    tenant: str
    health: TenantHealth | None = None
    health_error: str | None = None
    capacity: CapacitySummary | None = None
    capacity_error: str | None = None

    @property
    def status(self) -> Status:
        """The tenant's health verdict (UNKNOWN when health could not be checked)."""
        return self.health.status if self.health is not None else Status.UNKNOWN


class ReportFacts(Frozen):
    """Everything one channel's report says: the tenants in the order given, and the overdue windows."""

    tenants: list[TenantFacts]
    overdue: list[MaintenanceWindow] | str  # str: why they could not be read


class ScheduleFacts(Frozen):
    """A channel's report schedule: the next run, the last one sent (or why that is unknown), and the
    latest one when it is not in the channel (still being retried, or given up)."""

    schedule: ReportSchedule
    upcoming: datetime | None
    last_sent: datetime | None = None
    last_error: str | None = None
    unsettled: ReportDelivery | None = None


def _capacity_or_error(sources: Sources, runtime: Runtime, tenant: TenantConfig) -> CapacitySummary | str:
    try:
        return sources.capacity(runtime, tenant)
    except StoreError as exc:  # history lives in the store; a store outage must not sink the report
        return f"store unavailable: {exc.message}"
    except ClientError as exc:
        return str(exc)


def overdue_windows(runtime: Runtime, tenants: list[TenantConfig], now: datetime) -> list[MaintenanceWindow]:
    """Maintenance windows of these tenants still open past their end (raises StoreError)."""
    names = {t.name for t in tenants}
    return [w for w in runtime.store.maintenance.overdue(now) if w.tenant in names]


def _overdue_or_error(runtime: Runtime, tenants: list[TenantConfig], now: datetime) -> list[MaintenanceWindow] | str:
    try:
        return overdue_windows(runtime, tenants, now)
    except StoreError as exc:
        return f"could not check: {exc.message}"


def _tenant(name: str, health: object, capacity: object) -> TenantFacts:
    return TenantFacts(
        tenant=name,
        health=health if isinstance(health, TenantHealth) else None,
        health_error=None if isinstance(health, TenantHealth) else str(health),
        capacity=capacity if isinstance(capacity, CapacitySummary) else None,
        capacity_error=None if isinstance(capacity, CapacitySummary) else str(capacity),
    )


def gather(
    runtime: Runtime, tenants: list[TenantConfig], now: datetime, sources: Sources | None = None
) -> ReportFacts:
    """Health and capacity of every tenant and the overdue windows, in one bounded fan-out; never raises."""
    sources = sources or Sources()
    if not tenants:
        return ReportFacts(tenants=[], overdue=[])
    deadline = runtime.config.timeouts.report_deadline
    workers = runtime.config.scheduler.parallel
    calls: dict[str, Callable[[], object]] = {OVERDUE: partial(_overdue_or_error, runtime, tenants, now)}
    for tenant in tenants:
        calls[f"health:{tenant.name}"] = partial(sources.health, runtime, tenant, deadline)
        calls[f"capacity:{tenant.name}"] = partial(_capacity_or_error, sources, runtime, tenant)
    # One deadline for everything: allow one report deadline per wave of workers.
    waves = math.ceil(len(calls) / workers)
    results = fan_out(calls, deadline_s=waves * (deadline + 1) + 1, max_workers=workers)
    overdue = results[OVERDUE]
    return ReportFacts(
        tenants=[_tenant(t.name, results[f"health:{t.name}"], results[f"capacity:{t.name}"]) for t in tenants],
        overdue=overdue if isinstance(overdue, list | str) else str(overdue),
    )


def schedule_facts(runtime: Runtime, channel_id: str, schedule: ReportSchedule, now: datetime) -> ScheduleFacts:
    """When the channel's report runs next, when it was last sent, and whether the latest is still owed."""
    upcoming = next_fire_time(report_trigger(schedule), now)
    job = report_job_id(channel_id)
    try:
        last = runtime.store.deliveries.last_delivered(job)
        latest = runtime.store.deliveries.latest(job)
    except StoreError as exc:
        return ScheduleFacts(schedule=schedule, upcoming=upcoming, last_error=exc.message)
    unsettled = latest if latest is not None and latest.status != DeliveryStatus.DELIVERED else None
    return ScheduleFacts(schedule=schedule, upcoming=upcoming, last_sent=last, unsettled=unsettled)
