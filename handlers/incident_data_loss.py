"""`/minio incident data-loss`: quorum and drives now, versioning, object lock and replication per bucket, backups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from bot.clients.errors import ClientError
from bot.clients.minio_models import (
    BackupFreshness,
    ClusterHealth,
    HealStatus,
    ObjectLockInfo,
    ReplicationInfo,
    ServerInfo,
    VersioningInfo,
)
from bot.commands import escape
from bot.config import TenantConfig
from bot.report import Row, Section, Status, worst
from bot.runtime import Runtime
from handlers.capacity_forecast import format_age
from handlers.incident_common import (
    MAX_BUCKETS,
    Diagnosis,
    Fact,
    failed_section,
    gather,
)


@dataclass(frozen=True)
class BucketProtection:
    """Versioning, object-lock and replication state of one bucket."""

    bucket: str
    versioning: Fact[VersioningInfo]
    lock: Fact[ObjectLockInfo]
    replication: Fact[ReplicationInfo | None]  # None: the bucket replicates nowhere


@dataclass(frozen=True)
class DataLossFacts:
    """Quorum, drives and healing, per-bucket protection and backup freshness."""

    write: Fact[ClusterHealth]
    read: Fact[ClusterHealth]
    heal: Fact[HealStatus]
    info: Fact[ServerInfo]
    buckets: Fact[list[BucketProtection]]
    total_buckets: int
    backup: Fact[BackupFreshness] | None  # None: no backup target configured


def _protection(runtime: Runtime, tenant: TenantConfig, until: float) -> tuple[list[BucketProtection], int]:
    client = runtime.minio(tenant)
    names = [b.name for b in client.list_buckets()]
    checked = names[:MAX_BUCKETS]
    calls: dict[str, Callable[[], Any]] = {}
    for n in checked:
        calls[f"v:{n}"] = partial(client.bucket_versioning, n)
        calls[f"l:{n}"] = partial(client.object_lock, n)
        calls[f"r:{n}"] = partial(client.bucket_replication, n)
    got = gather(calls, until)
    return [BucketProtection(n, got[f"v:{n}"], got[f"l:{n}"], got[f"r:{n}"]) for n in checked], len(names)


def _backup_freshness(runtime: Runtime, tenant: TenantConfig) -> BackupFreshness:
    from handlers.health import backup_tenant  # the one place that turns a backup target into a client

    target = tenant.backup
    assert target is not None
    client = runtime.minio(tenant if target.endpoint is None else backup_tenant(tenant, target))
    return client.backup_freshness(target.bucket, target.prefix)


def gather_data_loss(runtime: Runtime, tenant: TenantConfig, until: float) -> DataLossFacts:
    """Quorum (write and read), healing, `info`, bucket protection and backup freshness, in parallel."""
    calls: dict[str, Callable[[], Any]] = {
        "write": lambda: runtime.minio(tenant).cluster_health(),
        "read": lambda: runtime.minio(tenant).cluster_health(read=True),
        "heal": lambda: runtime.minio(tenant).heal_status(),
        "info": lambda: runtime.minio(tenant).server_info(),
        "buckets": lambda: _protection(runtime, tenant, until),
    }
    if tenant.backup is not None:
        calls["backup"] = partial(_backup_freshness, runtime, tenant)
    got = gather(calls, until)
    buckets = got["buckets"]
    return DataLossFacts(
        write=got["write"],
        read=got["read"],
        heal=got["heal"],
        info=got["info"],
        buckets=buckets if isinstance(buckets, ClientError) else buckets[0],
        total_buckets=0 if isinstance(buckets, ClientError) else buckets[1],
        backup=got.get("backup"),
    )


def evaluate_data_loss(facts: DataLossFacts, tenant: TenantConfig) -> Diagnosis:
    """Is data at risk now (quorum, drives), and what can bring lost objects back (versions, locks, backups)."""
    name = tenant.name
    sections: list[Section] = []
    actions: list[str] = []
    rows: list[Row] = []
    write_lost = read_lost = False
    for label, probe in (("Write quorum", facts.write), ("Read quorum", facts.read)):
        if isinstance(probe, ClientError):
            rows.append(Row(status=Status.UNKNOWN, text=f"{label}: {escape(str(probe), 200)}"))
            continue
        need = probe.read_quorum if probe.read else probe.write_quorum
        suffix = f" (needs {need} drives per set)" if need else ""
        if probe.ok:
            rows.append(Row(status=Status.HEALTHY, text=f"{label}: met{suffix}"))
        else:
            rows.append(Row(status=Status.UNHEALTHY, text=f"{label}: LOST{suffix}"))
            write_lost = write_lost or not probe.read
            read_lost = read_lost or probe.read
    if isinstance(facts.info, ClientError):
        rows.append(Row(status=Status.UNKNOWN, text=f"Drives: {escape(str(facts.info), 200)}"))
    else:
        drives = facts.info.drives
        offline = [d for d in drives if d.state != "ok"]
        rows.append(
            Row(
                status=Status.DEGRADED if offline else Status.HEALTHY,
                text=f"Drives: {len(drives) - len(offline)}/{len(drives)} ok"
                + (" (not ok: " + ", ".join(escape(d.endpoint, 60) for d in offline[:6]) + ")" if offline else ""),
            )
        )
    if isinstance(facts.heal, ClientError):
        rows.append(Row(status=Status.UNKNOWN, text=f"Healing: {escape(str(facts.heal), 200)}"))
    else:
        healing = facts.heal.healing_drives
        rows.append(
            Row(
                status=Status.DEGRADED if healing else Status.HEALTHY,
                text=f"Healing: {len(healing)} drive(s) healing" if healing else "Healing: no drive is healing",
            )
        )
    sections.append(Section(title="Data at risk now", status=worst([r.status for r in rows if r.status]), rows=rows))

    unprotected: list[str] = []
    if isinstance(facts.buckets, ClientError):
        sections.append(failed_section("Versioning and object lock per bucket", facts.buckets))
    else:
        b_rows: list[Row] = []
        for b in facts.buckets:
            if isinstance(b.versioning, ClientError):
                versioning, versioned = f"versioning unknown ({escape(b.versioning.kind, 20)})", False
            else:
                versioning, versioned = f"versioning {escape(b.versioning.status, 20)}", b.versioning.enabled
            if isinstance(b.lock, ClientError):
                lock, locked = f"object lock unknown ({escape(b.lock.kind, 20)})", False
            elif b.lock.enabled:
                retention = " ".join(str(x) for x in (b.lock.mode, b.lock.duration, b.lock.unit) if x)
                lock, locked = "object lock on" + (f" ({escape(retention, 60)})" if retention else ""), True
            else:
                lock, locked = "no object lock", False
            if not (versioned or locked):
                unprotected.append(b.bucket)
            b_rows.append(
                Row(
                    status=Status.HEALTHY if versioned or locked else Status.DEGRADED,
                    text=f"`{escape(b.bucket, 63)}`: {versioning} · {lock}",
                )
            )
        lines = []
        if facts.total_buckets > len(facts.buckets):
            lines.append(f"Checked {len(facts.buckets)} of {facts.total_buckets} buckets.")
        if not b_rows:
            lines.append("No buckets.")
        sections.append(
            Section(
                title="Versioning and object lock per bucket",
                status=worst([r.status for r in b_rows if r.status], Status.INFO),
                rows=b_rows,
                lines=lines,
            )
        )

    stale_backup = False
    if facts.backup is None:
        sections.append(
            Section(
                title="Backup freshness",
                status=Status.DEGRADED,
                lines=["No backup target is configured for this tenant (`backup` in the configuration)."],
            )
        )
    elif isinstance(facts.backup, ClientError):
        sections.append(failed_section("Backup freshness", facts.backup))
    else:
        backup = facts.backup
        rpo = timedelta(hours=tenant.backup.rpo_hours if tenant.backup else 24)
        where = f"`{escape(backup.bucket, 63)}/{escape(backup.prefix, 100)}`"
        if backup.age is None:
            stale_backup = True
            line, status = f"No backup found under {where}.", Status.UNHEALTHY
        else:
            stale_backup = backup.age > rpo
            line = f"Newest backup under {where} is {format_age(backup.age)} old (RPO {format_age(rpo)})."
            status = Status.UNHEALTHY if stale_backup else Status.HEALTHY
        note = [f"Looked at {backup.objects_seen:,} objects (stopped early)."] if backup.truncated else []
        sections.append(Section(title="Backup freshness", status=status, lines=[line, *note]))

    replication_off: list[str] = []
    if isinstance(facts.buckets, ClientError):
        sections.append(failed_section("Replication", facts.buckets))
    else:
        section, replication_off = _replication_section(facts.buckets, facts.total_buckets)
        sections.append(section)

    if write_lost or read_lost:
        actions.append(
            "Quorum is lost: do NOT restart or replace more nodes or drives; bring the offline drives/nodes "
            f"back first (`/minio incident pod-crash {name}`)."
        )
    actions.append(
        "Stop further loss: pause the writers or lifecycle (ILM) rules that delete, and keep the drives as they are."
    )
    actions.append(
        "Restore deleted or overwritten objects from earlier versions in versioned buckets "
        "(`mc ls --versions`, `mc cp --version-id`)."
    )
    if unprotected:
        actions.append(
            "Buckets without versioning or object lock ("
            + ", ".join(f"`{escape(b, 63)}`" for b in unprotected[:5])
            + ") can only be restored from backup."
        )
    if replication_off:
        actions.append(
            "Replication rules are disabled on "
            + ", ".join(f"`{escape(b, 63)}`" for b in replication_off[:5])
            + ": new writes are not copied to the target; re-enable them once the target is known good "
            "(`mc replicate update --state enable`), then check `mc replicate status`."
        )
    if stale_backup or facts.backup is None:
        actions.append("Backups are missing or older than the RPO: restore may lose recent data; tell the data owners.")
    actions.append("Record which objects are affected and since when in the incident timeline.")
    return Diagnosis(sections, actions)


def _replication_section(buckets: list[BucketProtection], total_buckets: int) -> tuple[Section, list[str]]:
    """Per bucket: replication rules (enabled or disabled, with targets) or "no replication".

    A disabled rule is a finding: the bucket was meant to replicate and new writes are not copied.
    Returns the section and the buckets with disabled rules.
    """
    rows: list[Row] = []
    disabled_in: list[str] = []
    for b in buckets:
        name = f"`{escape(b.bucket, 63)}`"
        if isinstance(b.replication, ClientError):
            rows.append(
                Row(status=Status.UNKNOWN, text=f"{name}: replication unknown ({escape(b.replication.kind, 20)})")
            )
            continue
        if b.replication is None or not b.replication.rules:
            rows.append(Row(status=Status.INFO, text=f"{name}: no replication"))
            continue
        rules = [
            f"{escape(r.rule_id or '(no id)', 40)} {'enabled' if r.enabled else 'DISABLED'} -> "
            f"`{escape(r.target_bucket, 63)}`"
            for r in b.replication.rules[:5]
        ]
        more = len(b.replication.rules) - len(rules)
        disabled = b.replication.disabled_rules
        if disabled:
            disabled_in.append(b.bucket)
        rows.append(
            Row(
                status=Status.DEGRADED if disabled else Status.HEALTHY,
                text=f"{name}: " + "; ".join(rules) + (f" (+{more} more)" if more > 0 else ""),
            )
        )
    lines = []
    if total_buckets > len(buckets):
        lines.append(f"Checked {len(buckets)} of {total_buckets} buckets.")
    if not rows:
        lines.append("No buckets.")
    section = Section(
        title="Replication",
        status=worst([r.status for r in rows if r.status], Status.INFO),
        rows=rows,
        lines=lines,
    )
    return section, disabled_in
