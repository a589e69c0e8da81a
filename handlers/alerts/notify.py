"""Telling the channels: compare each observation with what they were last told, post, remember.

Two alert keys per tenant live in `store.alerts`: ``health:<tenant>`` and
``capacity:<tenant>``. **The stored state is what the channels were last
told.** A post happens only when the observed level differs from it; the state
is written after the post went out, so a restart (or the next leader) never
repeats it, and when Slack took it nowhere the next check posts it again. If
only some targets failed, the state is written anyway: repeating it where it
landed would be noise, and the miss is logged. A health verdict of UNKNOWN
changes nothing.

**Maintenance windows.** While `store.maintenance.active(tenant, now)` holds,
nothing is posted *and the stored state is left alone*, so the first check after
the window compares with what people heard before it.

A channel the bot cannot post in (not invited, archived) is logged and skipped;
it does not hold the others back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.config import TenantConfig
from bot.outbox import Outbox, OutboxError
from bot.report import Report, Text, duration, spans
from bot.runtime import Runtime
from bot.store import AlertState, StoreError
from handlers.alerts.evaluate import BASELINE, capacity_level, health_level
from handlers.alerts.facts import AlertSources, Observation, observe
from handlers.alerts.present import capacity_message, health_message
from handlers.capacity import CapacitySummary
from handlers.health import TenantHealth

log = logging.getLogger("minio_chatops.alerts")

# Errors of a channel that retrying will not fix: the channel is skipped instead of blocking the alert.
PERMANENT_ERRORS = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "invalid_auth", "account_inactive"}
)


@dataclass
class AlertEvent:
    """One transition found by a check (posted, muted, or waiting for the next check)."""

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


def targets(runtime: Runtime, tenant: TenantConfig) -> list[str]:
    """Where the tenant's alerts go: each channel that sees it, through its `alerts_to` route, de-duplicated."""
    return runtime.access.alert_channels(tenant)


def _since(previous: AlertState | None, now: datetime) -> Text:
    return "" if previous is None else spans(" after ", duration(now - previous.since, clock=True))


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


def _check(runtime: Runtime, outbox: Outbox, seen: Observation, now: datetime) -> list[AlertEvent]:
    """The transitions of one tenant (raises StoreError when its stored state cannot be read or written)."""
    tenant, health, capacity = seen.tenant, seen.health, seen.capacity
    events: list[AlertEvent] = []
    muted = runtime.store.maintenance.active(tenant.name, now) is not None
    if isinstance(health, TenantHealth):
        level = health_level(health.status)
        if level is not None:
            previous = runtime.store.alerts.get(f"health:{tenant.name}")
            events += _transition(runtime, outbox, tenant, "health", previous, level, muted, now, health=health)
    if isinstance(capacity, CapacitySummary) and capacity.ok and capacity.pct_used is not None:
        previous = runtime.store.alerts.get(f"capacity:{tenant.name}")
        level = capacity_level(capacity.pct_used, tenant.thresholds, previous.state if previous else "OK")
        events += _transition(runtime, outbox, tenant, "capacity", previous, level, muted, now, capacity=capacity)
    return events


def evaluate_alerts(
    runtime: Runtime, outbox: Outbox, now: datetime | None = None, sources: AlertSources | None = None
) -> list[AlertEvent]:
    """Check every tenant, post the transitions, store the new states; returns what changed."""
    now = now or runtime.clock()
    tenants = runtime.tenants()
    if not tenants:
        return []
    events: list[AlertEvent] = []
    for seen in observe(runtime, tenants, sources or AlertSources()):
        try:
            events += _check(runtime, outbox, seen, now)
        except StoreError as exc:
            # Without the stored state a post could be a repeat: skip this tenant until the store is back.
            log.warning("alert check skipped: store unavailable", extra={"tenant": seen.tenant.name,
                                                                          "error": exc.message})
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
