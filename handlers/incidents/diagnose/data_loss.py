"""`/minio incident data-loss`: quorum and drives now, versioning, object lock and replication per bucket, backups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

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
from bot.config import BackupTarget
from bot.report import Row, Section, Status, Text, code, duration, join, spans
from handlers.incidents.diagnose.sections import failed_section, rows_status
from handlers.incidents.facts import MAX_BUCKETS
from handlers.incidents.model import Diagnosis, Fact, Gathered

NEEDS = ("write_quorum", "read_quorum", "heal", "info", "protection", "backup")
MAX_NAMED = 5  # buckets named in one next action
MAX_OFFLINE_DRIVES = 6


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

    @classmethod
    def of(cls, got: Gathered) -> DataLossFacts:
        listed = got.get("buckets")  # the bucket list, or why it could not be had
        names = [b.name for b in listed[:MAX_BUCKETS]] if isinstance(listed, list) else []
        buckets = listed if isinstance(listed, ClientError) else [_protection(got, name) for name in names]
        total = len(listed) if isinstance(listed, list) else 0
        return cls(got.get("write_quorum"), got.get("read_quorum"), got.get("heal"), got.get("info"), buckets, total,
                   got.get("backup"))


def _protection(got: Gathered, bucket: str) -> BucketProtection:
    unchecked = ClientError("internal", f"bucket {bucket}", "not checked")
    settings = (got.values.get(f"{kind}:{bucket}", unchecked) for kind in ("versioning", "lock", "replication"))
    return BucketProtection(bucket, *settings)


def _quorum_row(label: str, probe: Fact[ClusterHealth]) -> Row:
    if isinstance(probe, ClientError):
        return Row(status=Status.UNKNOWN, text=spans(f"{label}: ", str(probe)))
    if probe.starting:
        # Every node asked is still starting: none evaluated quorum, so it is neither met nor lost.
        return Row(status=Status.UNKNOWN, text=f"{label}: not known, node {probe.node} is starting "
                   f"({probe.server_status})")
    suffix = f" (needs {probe.quorum} drives per set)" if probe.quorum else ""
    if probe.quorum_lost:
        return Row(status=Status.UNHEALTHY, text=f"{label}: LOST{suffix}")
    return Row(status=Status.HEALTHY, text=f"{label}: met{suffix}")


def _drives_row(info: Fact[ServerInfo]) -> Row:
    if isinstance(info, ClientError):
        return Row(status=Status.UNKNOWN, text=spans("Drives: ", str(info)))
    offline = [d for d in info.drives if d.state != "ok"]
    text = f"Drives: {len(info.drives) - len(offline)}/{len(info.drives)} ok"
    if offline:
        text += " (not ok: " + ", ".join(d.endpoint for d in offline[:MAX_OFFLINE_DRIVES]) + ")"
    return Row(status=Status.DEGRADED if offline else Status.HEALTHY, text=spans(text))


def _healing_row(heal: Fact[HealStatus]) -> Row:
    if isinstance(heal, ClientError):
        return Row(status=Status.UNKNOWN, text=spans("Healing: ", str(heal)))
    healing = heal.healing_drives
    if healing:
        return Row(status=Status.DEGRADED, text=f"Healing: {len(healing)} drive(s) healing")
    return Row(status=Status.HEALTHY, text="Healing: no drive is healing")


def at_risk_section(facts: DataLossFacts) -> tuple[Section, bool]:
    """Write and read quorum, drives and healing now; with whether a quorum is lost."""
    rows = [_quorum_row("Write quorum", facts.write), _quorum_row("Read quorum", facts.read),
            _drives_row(facts.info), _healing_row(facts.heal)]
    lost = any(isinstance(q, ClusterHealth) and q.quorum_lost for q in (facts.write, facts.read))
    return Section(title="Data at risk now", status=rows_status(rows, Status.HEALTHY), rows=rows), lost


def _protection_row(b: BucketProtection) -> tuple[Row, bool]:
    if isinstance(b.versioning, ClientError):
        versioning, versioned = f"versioning unknown ({b.versioning.kind})", False
    else:
        versioning, versioned = f"versioning {b.versioning.status}", b.versioning.enabled
    if isinstance(b.lock, ClientError):
        lock, locked = f"object lock unknown ({b.lock.kind})", False
    elif b.lock.enabled:
        retention = " ".join(str(x) for x in (b.lock.mode, b.lock.duration, b.lock.unit) if x)
        lock, locked = "object lock on" + (f" ({retention})" if retention else ""), True
    else:
        lock, locked = "no object lock", False
    protected = versioned or locked
    text = spans(code(b.bucket), f": {versioning} · {lock}")
    return Row(status=Status.HEALTHY if protected else Status.DEGRADED, text=text), protected


def _checked_lines(rows: list[Row], checked: int, total: int) -> list[Text]:
    lines: list[Text] = [f"Checked {checked} of {total} buckets."] if total > checked else []
    return lines + (["No buckets."] if not rows else [])


def protection_section(buckets: Fact[list[BucketProtection]], total: int) -> tuple[Section, list[str]]:
    """Versioning and object lock per bucket; with the buckets that have neither."""
    title = "Versioning and object lock per bucket"
    if isinstance(buckets, ClientError):
        return failed_section(title, buckets), []
    judged = [_protection_row(b) for b in buckets]
    rows = [row for row, _ in judged]
    unprotected = [b.bucket for b, (_, protected) in zip(buckets, judged, strict=True) if not protected]
    lines = _checked_lines(rows, len(buckets), total)
    return Section(title=title, status=rows_status(rows, Status.INFO), rows=rows, lines=lines), unprotected


def backup_section(backup: Fact[BackupFreshness] | None, target: BackupTarget | None) -> tuple[Section, bool]:
    """The newest backup's age against the RPO; with whether backups are missing or too old."""
    title = "Backup freshness"
    if backup is None:
        line = spans("No backup target is configured for this tenant (", code("backup"), " in the configuration).")
        return Section(title=title, status=Status.DEGRADED, lines=[line]), True
    if isinstance(backup, ClientError):
        return failed_section(title, backup), False
    rpo = timedelta(hours=target.rpo_hours if target else 24)
    where = code(f"{backup.bucket}/{backup.prefix}")
    if backup.age is None:
        stale, line = True, spans("No backup found under ", where, ".")
    else:
        stale = backup.age > rpo
        line = spans("Newest backup under ", where, " is ", duration(backup.age), " old (RPO ", duration(rpo), ").")
    note = [f"Looked at {backup.objects_seen:,} objects (stopped early)."] if backup.truncated else []
    status = Status.UNHEALTHY if stale else Status.HEALTHY
    return Section(title=title, status=status, lines=[line, *note]), stale


def _replication_row(b: BucketProtection) -> Row:
    name = code(b.bucket)
    if isinstance(b.replication, ClientError):
        return Row(status=Status.UNKNOWN, text=spans(name, f": replication unknown ({b.replication.kind})"))
    if b.replication is None or not b.replication.rules:
        return Row(status=Status.INFO, text=spans(name, ": no replication"))
    rules: list[Text] = [
        spans(f"{r.rule_id or '(no id)'} {'enabled' if r.enabled else 'DISABLED'} -> ", code(r.target_bucket))
        for r in b.replication.rules[:5]
    ]
    more = len(b.replication.rules) - len(rules)
    text = spans(name, ": ", join(rules, "; "), f" (+{more} more)" if more > 0 else "")
    return Row(status=Status.DEGRADED if b.replication.disabled_rules else Status.HEALTHY, text=text)


def replication_section(buckets: Fact[list[BucketProtection]], total: int) -> tuple[Section, list[str]]:
    """Per bucket: replication rules (enabled or disabled, with targets) or "no replication".

    A disabled rule is a finding: the bucket was meant to replicate and new writes are not copied.
    Returns the section and the buckets with disabled rules.
    """
    if isinstance(buckets, ClientError):
        return failed_section("Replication", buckets), []
    rows = [_replication_row(b) for b in buckets]
    disabled = [b.bucket for b, row in zip(buckets, rows, strict=True) if row.status is Status.DEGRADED]
    lines = _checked_lines(rows, len(buckets), total)
    return Section(title="Replication", status=rows_status(rows, Status.INFO), rows=rows, lines=lines), disabled


def _named(buckets: list[str]) -> Text:
    return join([spans(code(b)) for b in buckets[:MAX_NAMED]])


def data_loss_actions(
    tenant: str, quorum_lost: bool, unprotected: list[str], replication_off: list[str], backups_missing: bool
) -> list[Text]:
    """Stop further loss first, then what can bring lost objects back."""
    actions: list[Text] = []
    if quorum_lost:
        actions.append(spans("Quorum is lost: do NOT restart or replace more nodes or drives; bring the offline "
                             "drives/nodes back first (", code(f"/minio incident pod-crash {tenant}"), ")."))
    actions.append("Stop further loss: pause the writers or lifecycle (ILM) rules that delete, and keep the drives as "
                   "they are.")
    actions.append(spans("Restore deleted or overwritten objects from earlier versions in versioned buckets (",
                         code("mc ls --versions"), ", ", code("mc cp --version-id"), ")."))
    if unprotected:
        actions.append(spans("Buckets without versioning or object lock (", _named(unprotected),
                             ") can only be restored from backup."))
    if replication_off:
        actions.append(spans("Replication rules are disabled on ", _named(replication_off),
                             ": new writes are not copied to the target; re-enable them once the target is known "
                             "good (",
                             code("mc replicate update --state enable"), "), then check ",
                             code("mc replicate status"), "."))
    if backups_missing:
        actions.append("Backups are missing or older than the RPO: restore may lose recent data; tell the data owners.")
    actions.append("Record which objects are affected and since when in the incident timeline.")
    return actions


def evaluate_data_loss(facts: DataLossFacts, tenant: str, backup: BackupTarget | None) -> Diagnosis:
    """Is data at risk now (quorum, drives), and what can bring lost objects back (versions, locks, backups)."""
    at_risk, quorum_lost = at_risk_section(facts)
    protection, unprotected = protection_section(facts.buckets, facts.total_buckets)
    backups, backups_missing = backup_section(facts.backup, backup)
    replication, replication_off = replication_section(facts.buckets, facts.total_buckets)
    actions = data_loss_actions(tenant, quorum_lost, unprotected, replication_off, backups_missing)
    return Diagnosis([at_risk, protection, backups, replication], actions)
