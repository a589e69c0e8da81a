"""The Backup section: the age of the newest object under the backup target, against the RPO."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot import humanize
from bot.clients.errors import ClientError
from bot.clients.minio_models import BackupFreshness
from bot.config import TenantConfig
from bot.report import Section, Status, code, duration, spans, when
from handlers.health.findings import Reason, SectionBuilder


def evaluate_backup(
    backup: BackupFreshness | ClientError | None, tenant: TenantConfig, now: datetime, minio_cause: str | None = None
) -> tuple[Section, list[Reason]]:
    """Age of the newest object under the backup target against the RPO."""
    b = SectionBuilder("Backup")
    target = tenant.backup
    if target is None:
        b.info(spans("no backup target configured (set ", code("backup"), " for this tenant to check its age against "
                     "an RPO)"))
        return b.build()
    at = f" at {target.endpoint}" if target.endpoint else ""
    where = f"{target.bucket}/{target.prefix}{at}"
    b.fact("Target", spans(code(f"{target.bucket}/{target.prefix}"), at))
    b.fact("RPO", f"{target.rpo_hours:g} h")
    if isinstance(backup, ClientError):
        if backup.kind == "not_found" and "NoSuchBucket" in backup.detail:
            b.finding(Status.DEGRADED, f"backup bucket {target.bucket} missing")
        else:
            # A backup kept on the tenant itself shares the tenant's outage.
            b.not_checked("backup", backup, None if target.endpoint else minio_cause)
        return b.build()
    if backup is None:
        b.not_checked("backup", "no answer")
        return b.build()
    if backup.newest is None:
        b.finding(Status.DEGRADED, f"no backup objects under {where}")
        return b.build()
    age = now - backup.newest
    b.fact("Newest backup", spans(when(backup.newest), " (", duration(age), " old)"))
    rpo = f"{target.rpo_hours:g} h"
    if age > timedelta(hours=target.rpo_hours):
        b.finding(Status.DEGRADED, f"newest backup {humanize.duration(age)} old (RPO {rpo})")
    else:
        b.ok(spans("newest backup ", duration(age), f" old, within the {rpo} RPO"))
    if backup.truncated:
        b.line(f"looked at the first {backup.objects_seen} objects only")
    return b.build()
