"""`/minio incident storage-full`: capacity against thresholds, the largest buckets, volumes.

Bucket sizes come from the scanner's data-usage result (O(buckets)); objects are never listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clients.errors import ClientError
from bot.clients.kube_models import (
    PvcInfo,
    StorageClassInfo,
)
from bot.clients.minio_models import (
    DataUsage,
    ServerInfo,
)
from bot.commands import escape
from bot.config import TenantConfig
from bot.report import Row, Section, Status, worst
from bot.runtime import Runtime
from handlers.capacity import STALE_AFTER, drive_totals, top_buckets
from handlers.capacity_forecast import format_age, format_bytes
from handlers.incidents.facts import (
    Diagnosis,
    Fact,
    failed_section,
    gather,
    kube_target,
    not_on_kubernetes,
    server_label,
)

FULL_DRIVE_FREE = 0.05  # a drive with less than this share free is "full"


@dataclass(frozen=True)
class StorageFacts:
    """Drive capacity from `info`, bucket sizes from the scanner, PVCs and storage classes."""

    info: Fact[ServerInfo]
    usage: Fact[DataUsage]
    pvcs: Fact[list[PvcInfo]] | None
    storage_classes: Fact[list[StorageClassInfo]] | None


def gather_storage(runtime: Runtime, tenant: TenantConfig, until: float) -> StorageFacts:
    """`info` and `datausageinfo` (O(buckets), never a listing), plus PVCs when on Kubernetes."""
    calls: dict[str, Callable[[], Any]] = {
        "info": lambda: runtime.minio(tenant).server_info(),
        "usage": lambda: runtime.minio(tenant).data_usage(),
    }
    if tenant.kubernetes is not None:
        calls["pvcs"] = lambda: kube_target(runtime, tenant).pvcs()
        calls["classes"] = lambda: kube_target(runtime, tenant).client.list_storage_classes()
    got = gather(calls, until)
    return StorageFacts(got["info"], got["usage"], got.get("pvcs"), got.get("classes"))


def full_drives(info: ServerInfo) -> list[str]:
    """Endpoints of drives with less than `FULL_DRIVE_FREE` of their space left."""
    return [d.endpoint for d in info.drives if d.total and d.available / d.total < FULL_DRIVE_FREE]


def evaluate_storage(facts: StorageFacts, tenant: TenantConfig, now: datetime) -> Diagnosis:
    """Capacity against the tenant's thresholds, the largest buckets, PVC state, and how to get space."""
    name = tenant.name
    sections: list[Section] = []
    actions: list[str] = []
    pct: float | None = None
    if isinstance(facts.info, ClientError):
        sections.append(failed_section("Capacity", facts.info))
    else:
        raw_total, raw_free, usable_total, usable_free, offline = drive_totals(facts.info)
        pct = 100.0 * (usable_total - usable_free) / usable_total if usable_total else 0.0
        t = tenant.thresholds
        status = (
            Status.UNHEALTHY
            if pct >= t.critical
            else Status.DEGRADED
            if pct >= t.alert
            else Status.INFO
            if pct >= t.plan
            else Status.HEALTHY
        )
        lines = [
            f"Usable: {format_bytes(usable_total - usable_free)} used of {format_bytes(usable_total)} "
            f"({pct:.1f} %), {format_bytes(usable_free)} free.",
            f"Raw: {format_bytes(raw_total - raw_free)} used of {format_bytes(raw_total)}.",
            f"Thresholds: plan {t.plan:g} %, alert {t.alert:g} %, critical {t.critical:g} %.",
        ]
        if offline:
            lines.append(f"{offline} drive(s) offline: their space is missing from these totals.")
        full = full_drives(facts.info)
        rows = [Row(status=Status.UNHEALTHY, text=f"Drive full: {server_label(d)}") for d in full[:8]]
        if len(full) > 8:
            rows.append(Row(text=f"… and {len(full) - 8} more full drives"))
        if rows:
            status = worst([status, Status.UNHEALTHY])
        sections.append(Section(title="Capacity", status=status, lines=lines, rows=rows))
    largest: list[str] = []
    if isinstance(facts.usage, ClientError):
        sections.append(failed_section("Largest buckets", facts.usage))
    else:
        usage = facts.usage
        ranked = top_buckets(usage)
        largest = [b.name for b in ranked]
        total = usage.total_size or sum(u.size for u in usage.buckets.values()) or 1
        lines = [
            f"`{escape(b.name, 63)}`: {format_bytes(b.size)} ({100 * b.size / total:.0f} %), {b.objects:,} objects"
            for b in ranked
        ] or ["No buckets hold data."]
        if usage.last_update is None:
            fresh = "The scanner has not finished its first cycle: sizes may be incomplete."
        else:
            age = now - usage.last_update
            fresh = f"Scanner data from {format_age(age)} ago (no objects were listed)."
            if age > STALE_AFTER:
                fresh += " That is old: the scanner may be behind."
        sections.append(Section(title="Largest buckets", status=Status.INFO, lines=[*lines, fresh]))
    expandable: list[str] = []
    if facts.pvcs is None:
        sections.append(not_on_kubernetes("Volumes"))
    elif isinstance(facts.pvcs, ClientError):
        sections.append(failed_section("Volumes", facts.pvcs))
    else:
        classes = facts.storage_classes if isinstance(facts.storage_classes, list) else []
        growable = {c.name for c in classes if c.allow_volume_expansion}
        used_classes = sorted({p.storage_class for p in facts.pvcs if p.storage_class})
        expandable = [c for c in used_classes if c in growable]
        rows = [
            Row(
                status=Status.DEGRADED,
                text=f"`{escape(p.name, 63)}`: {escape(p.phase or 'unknown', 20)}"
                + (f" ({', '.join(escape(c, 40) for c in p.conditions)})" if p.conditions else ""),
            )
            for p in facts.pvcs
            if p.phase != "Bound" or p.conditions
        ]
        lines = [f"{len(facts.pvcs)} PVCs, storage class(es): {', '.join(used_classes) or 'unknown'}."]
        if used_classes:
            lines.append(
                "Volumes can grow in place (storage class allows expansion)."
                if expandable
                else "Volumes cannot grow in place: add a pool instead."
            )
        sections.append(
            Section(title="Volumes", status=Status.DEGRADED if rows else Status.HEALTHY, lines=lines, rows=rows)
        )

    if pct is not None and pct >= tenant.thresholds.alert:
        if largest:
            actions.append(
                "Free space now: expire or delete data in the largest buckets ("
                + ", ".join(f"`{escape(b, 63)}`" for b in largest[:3])
                + ") with lifecycle rules; deleting old versions frees the most."
            )
        actions.append(f"Add capacity: `/minio scale {name} add-pool ...` (previewed, needs approval).")
        if expandable:
            actions.append(f"Or grow the existing volumes: `/minio scale {name} storage ...`.")
        actions.append("When drives are full, writes fail with `XMinioStorageFull`: tell the writers to pause.")
    else:
        actions.append("Capacity is below the alert threshold: look for a single full drive or PVC above.")
    actions.append(f"See the trend and the date each threshold is reached: `/minio capacity {name}`.")
    return Diagnosis(sections, actions)
