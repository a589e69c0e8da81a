"""Scheduled backup verification (``Job.BACKUP_VERIFY``) and its alert, once per failure, then a recovery.

The scheduler claims one slot per tenant every ``backup.verify_every_hours`` and calls
:func:`verify_backups` for it. The alert state (``bot.store.alerts``, key ``backup:<tenant>``) holds what
the channels were last told: ``OK`` or ``FAILED``. A verification is FAILED when it is UNHEALTHY (a
backup does not read back, differs from its source, or the location cannot be read) or DEGRADED (no
backup, or older than the RPO); UNKNOWN (a source could not be checked) changes nothing. Like the health
and capacity alerts (``handlers.alerts.notify``): a post only when the level changes; the state is
written after the post went out, so a restart or the next leader never repeats it; when no channel took
it, the next run posts it again. During a maintenance window nothing is posted and the state is left
alone, so the first run after it compares with what people heard before it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.clients.errors import ClientError
from bot.config import TenantConfig
from bot.outbox import Outbox, OutboxError
from bot.report import Report, Status, Text, bold, code, duration, spans
from bot.runtime import Runtime
from bot.store.alerts import alert_key
from handlers.alerts.notify import PERMANENT_ERRORS, targets
from handlers.backup.facts import verify_facts
from handlers.backup.present import unreachable_report, verify_report

log = logging.getLogger("minio_chatops.backup")

KIND = "backup"
OK, FAILED = "OK", "FAILED"
SAMPLE = 5
MAX_REASONS = 5


@dataclass
class BackupAlert:
    """One change of a tenant's backup verdict (posted, or waiting for the next run)."""

    tenant: str
    previous: str
    current: str
    posted_to: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    muted: bool = False  # a maintenance window is open: nothing posted, the state left as people last heard it


def verification(runtime: Runtime, tenant: TenantConfig) -> Report:
    """The verification report of one tenant (an unreachable location is a report too)."""
    assert tenant.backup is not None
    try:
        facts = verify_facts(runtime, tenant, tenant.backup, SAMPLE)
    except ClientError as exc:
        return unreachable_report(tenant.name, tenant.backup, exc)
    return verify_report(tenant.name, facts, runtime.clock())


def level_of(report: Report) -> str | None:
    """FAILED, OK, or None when the verdict says nothing either way (UNKNOWN)."""
    if report.status in (Status.UNHEALTHY, Status.DEGRADED):
        return FAILED
    if report.status is Status.UNKNOWN:
        return None
    return OK


def verify_backups(runtime: Runtime, outbox: Outbox, tenant: TenantConfig, now: datetime) -> BackupAlert | None:
    """Verify one tenant's backups; post when the verdict changed since the channels were last told."""
    report = verification(runtime, tenant)
    level = level_of(report)
    if level is None:
        return None
    key = alert_key(KIND, tenant.name)
    previous = runtime.store.alerts.get(key)
    before = previous.state if previous is not None else OK
    if level == before:
        if previous is None:
            runtime.store.alerts.put(key, level, since=now)
        return None
    event = BackupAlert(tenant=tenant.name, previous=before, current=level)
    if runtime.store.maintenance.active(tenant.name, now) is not None:
        # As the health and capacity alerts: after the window, the next run compares with what people heard.
        log.info("backup alert muted: maintenance window", extra={"tenant": tenant.name, "to": level})
        event.muted = True
        return event
    since: Text = "" if previous is None else spans(" after ", duration(now - previous.since, clock=True))
    message = failed_message(tenant.name, report) if level == FAILED else recovered_message(tenant.name, since)
    first: str | None = None
    for channel in targets(runtime, tenant):
        try:
            first = first or outbox.post(channel, message)
            event.posted_to.append(channel)
        except OutboxError as exc:
            if exc.code in PERMANENT_ERRORS:
                log.warning("backup alert not posted: channel refuses", extra={"channel": channel, "error": exc.code})
            else:
                event.pending.append(channel)
    if event.pending and not event.posted_to:
        log.warning("backup alert not delivered; retrying next run", extra={"key": key, "pending": event.pending})
        return event
    runtime.store.alerts.put(key, level, since=now, last_notified_at=now, message_ts=first)
    return event


def failed_message(tenant: str, report: Report) -> Report:
    """The post for a verification that failed: the report's reasons, and how to look again."""
    return Report(
        title=f"MinIO alert: backup verification failed for {tenant}",
        status=report.status,
        summary=spans("The scheduled backup verification of ", bold(tenant), f" is {report.status}. Why:"),
        reasons=list(report.reasons[:MAX_REASONS]) or ["no reason given"],
        footer=[spans(code(f"/minio backup {tenant} verify"), " for the full report")],
    )


def recovered_message(tenant: str, since: Text) -> Report:
    """The post for a verification that passes again."""
    return Report(
        title=f"Recovered: {tenant} backups verify again",
        status=Status.HEALTHY,
        summary=spans("The backups of ", bold(tenant), " read back whole, match their sources and are within the RPO "
                      "again (failed", since, ")."),
        footer=[spans(code(f"/minio backup {tenant} verify"), " for the full report")],
    )
