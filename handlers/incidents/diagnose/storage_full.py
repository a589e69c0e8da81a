"""`/minio incident storage-full`: capacity against thresholds, the largest buckets, volumes.

Bucket sizes come from the scanner's data-usage result (O(buckets)); objects are never listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clients.errors import ClientError
from bot.clients.kube_models import PvcInfo, StorageClassInfo
from bot.clients.minio_models import DataUsage, ServerInfo
from bot.config import Thresholds
from bot.report import Row, Section, Status, Text, code, duration, join, size, spans, worst
from handlers.capacity import STALE_AFTER, drive_totals, top_buckets
from handlers.incidents.diagnose.sections import failed_section, not_on_kubernetes
from handlers.incidents.model import Diagnosis, Fact, Gathered

NEEDS = ("info", "usage", "pvcs", "storage_classes")
FULL_DRIVE_FREE = 0.05  # a drive with less than this share free is "full"
MAX_FULL_DRIVES = 8


@dataclass(frozen=True)
class StorageFacts:
    """Drive capacity from `info`, bucket sizes from the scanner, PVCs and storage classes."""

    info: Fact[ServerInfo]
    usage: Fact[DataUsage]
    pvcs: Fact[list[PvcInfo]] | None
    storage_classes: Fact[list[StorageClassInfo]] | None

    @classmethod
    def of(cls, got: Gathered) -> StorageFacts:
        return cls(got.get("info"), got.get("usage"), got.get("pvcs"), got.get("storage_classes"))


def full_drives(info: ServerInfo) -> list[str]:
    """Endpoints of drives with less than `FULL_DRIVE_FREE` of their space left."""
    return [d.endpoint for d in info.drives if d.total and d.available / d.total < FULL_DRIVE_FREE]


def threshold_status(pct: float, t: Thresholds) -> Status:
    """Critical, alert and plan thresholds as UNHEALTHY, DEGRADED and INFO."""
    if pct >= t.critical:
        return Status.UNHEALTHY
    return Status.DEGRADED if pct >= t.alert else Status.INFO if pct >= t.plan else Status.HEALTHY


def capacity_section(info: Fact[ServerInfo], t: Thresholds) -> tuple[Section, float | None]:
    """Usable and raw capacity against the thresholds, and full drives; with the usable % used."""
    if isinstance(info, ClientError):
        return failed_section("Capacity", info), None
    raw_total, raw_free, usable_total, usable_free, offline = drive_totals(info)
    pct = 100.0 * (usable_total - usable_free) / usable_total if usable_total else 0.0
    lines: list[Text] = [
        spans("Usable: ", size(usable_total - usable_free), " used of ", size(usable_total),
              f" ({pct:.1f} %), ", size(usable_free), " free."),
        spans("Raw: ", size(raw_total - raw_free), " used of ", size(raw_total), "."),
        f"Thresholds: plan {t.plan:g} %, alert {t.alert:g} %, critical {t.critical:g} %.",
    ]
    if offline:
        lines.append(f"{offline} drive(s) offline: their space is missing from these totals.")
    full = full_drives(info)
    rows = [Row(status=Status.UNHEALTHY, text=spans("Drive full: ", d)) for d in full[:MAX_FULL_DRIVES]]
    if len(full) > MAX_FULL_DRIVES:
        rows.append(Row(text=f"… and {len(full) - MAX_FULL_DRIVES} more full drives"))
    status = worst([threshold_status(pct, t), *([Status.UNHEALTHY] if rows else [])])
    return Section(title="Capacity", status=status, lines=lines, rows=rows), pct


def largest_buckets_section(usage: Fact[DataUsage], now: datetime) -> tuple[Section, list[str]]:
    """The largest buckets by the scanner, how fresh its data is; with their names, largest first."""
    if isinstance(usage, ClientError):
        return failed_section("Largest buckets", usage), []
    ranked = top_buckets(usage)
    total = usage.total_size or sum(u.size for u in usage.buckets.values()) or 1
    lines: list[Text] = [
        spans(code(b.name), ": ", size(b.size), f" ({100 * b.size / total:.0f} %), {b.objects:,} objects")
        for b in ranked
    ] or ["No buckets hold data."]
    if usage.last_update is None:
        lines.append("The scanner has not finished its first cycle: sizes may be incomplete.")
    else:
        age = now - usage.last_update
        old = " That is old: the scanner may be behind." if age > STALE_AFTER else ""
        lines.append(spans("Scanner data from ", duration(age), " ago (no objects were listed).", old))
    return Section(title="Largest buckets", status=Status.INFO, lines=lines), [b.name for b in ranked]


def _pvc_row(pvc: PvcInfo) -> Row:
    conditions = f" ({', '.join(pvc.conditions)})" if pvc.conditions else ""
    return Row(status=Status.DEGRADED, text=spans(code(pvc.name), f": {pvc.phase or 'unknown'}{conditions}"))


def volumes_section(
    pvcs: Fact[list[PvcInfo]] | None, classes: Fact[list[StorageClassInfo]] | None
) -> tuple[Section, bool]:
    """PVCs that are not Bound (or have conditions), and whether their storage class lets them grow."""
    if pvcs is None:
        return not_on_kubernetes("Volumes"), False
    if isinstance(pvcs, ClientError):
        return failed_section("Volumes", pvcs), False
    growable = {c.name for c in classes if c.allow_volume_expansion} if isinstance(classes, list) else set()
    used = sorted({p.storage_class for p in pvcs if p.storage_class})
    expandable = any(c in growable for c in used)
    rows = [_pvc_row(p) for p in pvcs if p.phase != "Bound" or p.conditions]
    lines = [f"{len(pvcs)} PVCs, storage class(es): {', '.join(used) or 'unknown'}."]
    if used:
        lines.append(
            "Volumes can grow in place (storage class allows expansion)."
            if expandable
            else "Volumes cannot grow in place: add a pool instead."
        )
    status = Status.DEGRADED if rows else Status.HEALTHY
    return Section(title="Volumes", status=status, lines=lines, rows=rows), expandable


def storage_actions(
    tenant: str, pct: float | None, t: Thresholds, largest: list[str], expandable: bool
) -> list[Text]:
    """How to get space now and for good, when usage is past the alert threshold."""
    actions: list[Text] = []
    if pct is not None and pct >= t.alert:
        if largest:
            actions.append(spans("Free space now: expire or delete data in the largest buckets (",
                                 join([spans(code(b)) for b in largest[:3]]),
                                 ") with lifecycle rules; deleting old versions frees the most."))
        actions.append(spans("Add capacity: ", code(f"/minio scale {tenant} add-pool ..."),
                             " (previewed, needs approval)."))
        if expandable:
            actions.append(spans("Or grow the existing volumes: ", code(f"/minio scale {tenant} storage ..."), "."))
        actions.append(spans("When drives are full, writes fail with ", code("XMinioStorageFull"),
                             ": tell the writers to pause."))
    else:
        actions.append("Capacity is below the alert threshold: look for a single full drive or PVC above.")
    actions.append(spans("See the trend and the date each threshold is reached: ", code(f"/minio capacity {tenant}"),
                         "."))
    return actions


def evaluate_storage(facts: StorageFacts, tenant: str, thresholds: Thresholds, now: datetime) -> Diagnosis:
    """Capacity against the tenant's thresholds, the largest buckets, PVC state, and how to get space."""
    capacity, pct = capacity_section(facts.info, thresholds)
    buckets, largest = largest_buckets_section(facts.usage, now)
    volumes, expandable = volumes_section(facts.pvcs, facts.storage_classes)
    actions = storage_actions(tenant, pct, thresholds, largest, expandable)
    return Diagnosis([capacity, buckets, volumes], actions)
