"""Alerts: tell a channel when a tenant's health or capacity changes, once, and again when it clears.

Two alert keys per tenant live in `store.alerts`:

* ``health:<tenant>``: HEALTHY, DEGRADED or UNHEALTHY (`check_tenant`'s verdict);
* ``capacity:<tenant>``: OK, PLAN, ALERT or CRITICAL against the tenant's
  thresholds. Going down a level needs usage 1 point below the threshold
  (hysteresis), so a tenant hovering at 80.0 % does not post every check.

**The stored state is what the channels were last told.** A post happens only
when the observed state differs from it; the state is written after the post
went out, so a restart (or the next leader) never repeats it, and when Slack
took it nowhere (down, rate-limited past every retry) the next check posts it
again. If only some targets failed, the state is written anyway: repeating it
where it landed would be noise, and the miss is logged. A tenant seen for the
first time starts from HEALTHY / OK: one that is already degraded is announced.
A health verdict of UNKNOWN (no facts) changes nothing.

**Maintenance windows.** While `store.maintenance.active(tenant, now)` holds,
nothing is posted *and the stored state is left alone*. When the window ends,
the next check compares with what people heard before it: a problem the work
left behind is announced, a problem it fixed gets its recovery message, and
the expected flapping during the window (nodes restarting) stays silent.

Posts go to every channel that sees the tenant, via its `alerts_to` route when
set (several channels routed to one alert channel get one post). A channel the
bot cannot post in (not invited, archived) is logged and skipped; it does not
hold the others back.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from bot.application import Capability, Job
from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.config import TenantConfig, Thresholds
from bot.outbox import Outbox, OutboxError
from bot.report import Report, Status
from bot.runtime import Runtime
from bot.store import AlertState, StoreError
from handlers.capacity import CapacitySummary, capacity_summary, summary_line
from handlers.health import TenantHealth, check_tenant

log = logging.getLogger("minio_chatops.alerts")

HYSTERESIS_POINTS = 1.0
MAX_REASONS = 5
HEALTH_LEVELS = ("HEALTHY", "DEGRADED", "UNHEALTHY")
CAPACITY_LEVELS = ("OK", "PLAN", "ALERT", "CRITICAL")
BASELINE = {"health": "HEALTHY", "capacity": "OK"}
# Slack errors that retrying will not fix: the channel is skipped instead of blocking the alert.
PERMANENT_ERRORS = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "invalid_auth", "account_inactive"}
)


@dataclass(frozen=True)
class AlertSources:
    """Where the observations come from; tests pass stand-ins."""

    health: Callable[[Runtime, TenantConfig, float], TenantHealth] = check_tenant
    capacity: Callable[[Runtime, TenantConfig], CapacitySummary] = capacity_summary


@dataclass
class AlertEvent:
    """One transition found by a check (posted, muted, or waiting for Slack)."""

    key: str
    tenant: str
    kind: str  # health | capacity
    previous: str
    current: str
    muted: bool = False
    posted_to: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # targets that failed transiently

    @property
    def recovery(self) -> bool:
        return self.current == BASELINE[self.kind]


# ----------------------------------------------------------------------------- pure rules


def health_level(status: Status) -> str | None:
    """The alert level of a health verdict; None when it tells nothing (UNKNOWN)."""
    if status in (Status.HEALTHY, Status.INFO):
        return "HEALTHY"
    if status in (Status.DEGRADED, Status.UNHEALTHY):
        return status.value
    return None


def capacity_level(pct_used: float, thresholds: Thresholds, previous: str) -> str:
    """The capacity level for `pct_used`: up at a threshold, down only once 1 point below it."""
    limits = (0.0, thresholds.plan, thresholds.alert, thresholds.critical)  # indexed like CAPACITY_LEVELS
    raw = max(rank for rank, limit in enumerate(limits) if pct_used >= limit)
    before = CAPACITY_LEVELS.index(previous) if previous in CAPACITY_LEVELS else 0
    # Falling: settle on the highest level (at most the previous one) still within the hysteresis band.
    for rank in range(before, raw, -1):
        if pct_used >= limits[rank] - HYSTERESIS_POINTS:
            return CAPACITY_LEVELS[rank]
    return CAPACITY_LEVELS[raw]


def _rank(kind: str, level: str) -> int:
    levels = HEALTH_LEVELS if kind == "health" else CAPACITY_LEVELS
    return levels.index(level) if level in levels else 0


def _since(previous: AlertState | None, now: datetime) -> str:
    if previous is None:
        return ""
    minutes = int((now - previous.since).total_seconds() // 60)
    span = f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"
    return f" after {span}"


_STATUS = {"HEALTHY": Status.HEALTHY, "DEGRADED": Status.DEGRADED, "UNHEALTHY": Status.UNHEALTHY,
           "OK": Status.HEALTHY, "PLAN": Status.INFO, "ALERT": Status.DEGRADED, "CRITICAL": Status.UNHEALTHY}


def health_message(tenant: str, previous: str, current: str, health: TenantHealth, since: str) -> Report:
    """The post for a health transition."""
    if current == "HEALTHY":
        title = f"Recovered: {tenant} is HEALTHY again"
        summary = f"*{tenant}* is back to HEALTHY (was {previous}{since})."
        reasons: list[str] = []
    else:
        worse = _rank("health", current) > _rank("health", previous)
        title = f"{tenant} is {current}" if worse else f"{tenant} improved to {current}"
        summary = f"*{tenant}* is now {current} (was {previous}). Why:"
        reasons = health.reasons[:MAX_REASONS] or ["no reason given"]
    return Report(
        title=f"MinIO alert: {title}",
        status=_STATUS[current],
        summary=summary,
        reasons=reasons,
        footer=[f"`/minio health {tenant}` for the full report · checked {health.checked_at:%H:%M} UTC"],
    )


def capacity_message(
    tenant: str, previous: str, current: str, summary: CapacitySummary, thresholds: Thresholds, since: str
) -> Report:
    """The post for a capacity transition."""
    limits = {"PLAN": thresholds.plan, "ALERT": thresholds.alert, "CRITICAL": thresholds.critical}
    pct = summary.pct_used or 0.0
    if current == "OK":
        lowest = limits["PLAN"]
        title = f"Recovered: {tenant} capacity below {lowest:g} %"
        text = f"*{tenant}* uses {pct:.1f} %, below the {lowest:g} % planning threshold again (was {previous}{since})."
    elif _rank("capacity", current) > _rank("capacity", previous):
        title = f"{tenant} capacity crossed {limits[current]:g} % ({current})"
        text = f"*{tenant}* uses {pct:.1f} % of its usable capacity, over the {limits[current]:g} % " \
               f"{current.lower()} threshold."
    else:
        title = f"{tenant} capacity eased to {current}"
        text = f"*{tenant}* uses {pct:.1f} %, back below {limits[previous]:g} % (still over {limits[current]:g} %)."
    return Report(
        title=f"MinIO alert: {title}",
        status=_STATUS[current],
        summary=text,
        reasons=[summary_line(summary)],
        footer=[f"`/minio capacity {tenant}` for usage, growth and the forecast"],
    )


def targets(runtime: Runtime, tenant: TenantConfig) -> list[str]:
    """Where the tenant's alerts go: each channel that sees it, through its `alerts_to` route, de-duplicated."""
    out: list[str] = []
    for channel_id in tenant.channels:
        channel = runtime.config.channel(channel_id)
        target = channel.alerts_to if channel is not None and channel.alerts_to else channel_id
        if target not in out:
            out.append(target)
    return out


# ----------------------------------------------------------------------------- the check


def _observe(
    runtime: Runtime, tenants: list[TenantConfig], sources: AlertSources
) -> dict[str, TenantHealth | CapacitySummary | ClientError]:
    deadline = runtime.config.timeouts.report_deadline
    workers = runtime.config.scheduler.parallel
    calls: dict[str, Callable[[], TenantHealth | CapacitySummary]] = {}
    for tenant in tenants:
        calls[f"health:{tenant.name}"] = partial(sources.health, runtime, tenant, deadline)
        calls[f"capacity:{tenant.name}"] = partial(sources.capacity, runtime, tenant)
    waves = math.ceil(len(calls) / workers) if calls else 1
    return fan_out(calls, deadline_s=waves * (deadline + 1) + 1, max_workers=workers)


def _post(runtime: Runtime, outbox: Outbox, report: Report, to: list[str], event: AlertEvent) -> str | None:
    """Post to every target; returns the first message ts. Transient failures land in `event.pending`."""
    first: str | None = None
    for channel in to:
        try:
            ts = outbox.post(channel, report)
            first = first or ts
            event.posted_to.append(channel)
        except OutboxError as exc:
            if exc.code in PERMANENT_ERRORS:
                log.warning("alert not posted: channel refuses", extra={"channel": channel, "error": exc.code})
                runtime.metrics.slack_errors.labels("alert", exc.code).inc()
            else:
                event.pending.append(channel)
    return first


def evaluate_alerts(
    runtime: Runtime, outbox: Outbox, now: datetime | None = None, sources: AlertSources | None = None
) -> list[AlertEvent]:
    """Check every tenant, post the transitions, store the new states; returns what changed."""
    now = now or runtime.clock()
    sources = sources or AlertSources()
    tenants = runtime.tenants()
    if not tenants:
        return []
    observed = _observe(runtime, tenants, sources)
    events: list[AlertEvent] = []
    for tenant in tenants:
        health = observed[f"health:{tenant.name}"]
        capacity = observed[f"capacity:{tenant.name}"]
        try:
            muted = runtime.store.maintenance.active(tenant.name, now) is not None
            if isinstance(health, TenantHealth):
                level = health_level(health.status)
                if level is not None:
                    previous = runtime.store.alerts.get(f"health:{tenant.name}")
                    events += _transition(runtime, outbox, tenant, "health", previous, level, muted, now,
                                          health=health)
            if isinstance(capacity, CapacitySummary) and capacity.ok and capacity.pct_used is not None:
                previous = runtime.store.alerts.get(f"capacity:{tenant.name}")
                level = capacity_level(capacity.pct_used, tenant.thresholds, previous.state if previous else "OK")
                events += _transition(runtime, outbox, tenant, "capacity", previous, level, muted, now,
                                      capacity=capacity)
        except StoreError as exc:
            # Without the stored state a post could be a repeat: skip this tenant until the store is back.
            log.warning("alert check skipped: store unavailable", extra={"tenant": tenant.name, "error": exc.message})
    return events


def _transition(
    runtime: Runtime,
    outbox: Outbox,
    tenant: TenantConfig,
    kind: str,
    previous: AlertState | None,
    level: str,
    muted: bool,
    now: datetime,
    *,
    health: TenantHealth | None = None,
    capacity: CapacitySummary | None = None,
) -> list[AlertEvent]:
    key = f"{kind}:{tenant.name}"
    before = previous.state if previous is not None else BASELINE[kind]
    if level == before:
        if previous is None:  # remember the baseline, so "first seen" is decided once
            runtime.store.alerts.put(key, level, since=now)
        return []
    event = AlertEvent(key=key, tenant=tenant.name, kind=kind, previous=before, current=level, muted=muted)
    if muted:
        # State untouched: after the window, the first check compares with what people last heard.
        runtime.metrics.alerts.labels(kind, "muted").inc()
        log.info("alert muted: maintenance window", extra={"key": key, "from": before, "to": level})
        return [event]
    since = _since(previous, now)
    if health is not None:
        report = health_message(tenant.name, before, level, health, since)
    else:
        assert capacity is not None
        report = capacity_message(tenant.name, before, level, capacity, tenant.thresholds, since)
    ts = _post(runtime, outbox, report, targets(runtime, tenant), event)
    if event.pending and not event.posted_to:
        # Nobody got it (Slack busy or down): keep the old state so the next check posts it again.
        log.warning("alert not delivered; retrying next check", extra={"key": key, "pending": event.pending})
        return [event]
    if event.pending:
        # Some targets got it; repeating it there would be noise, so the others miss this one (logged).
        log.warning("alert missed some channels", extra={"key": key, "missed": event.pending})
    runtime.store.alerts.put(key, level, since=now, last_notified_at=now, message_ts=ts)
    runtime.metrics.alerts.labels(kind, "recovery" if event.recovery else "alert").inc()
    return [event]

capability = Capability("alerts", __doc__)
capability.job(Job.ALERTS)(evaluate_alerts)
