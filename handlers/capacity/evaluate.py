"""Capacity evaluation: pure functions over the facts (no I/O), testable without any server.

Usable capacity counts data drives only (`disk_index < set size - parity`,
minio-facts.md); bucket figures come from the scanner and say how fresh they
are; the daily-report summary adds 7-day growth and the 80 % forecast.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.clients.errors import ClientError
from bot.clients.minio_models import DataUsage, ServerInfo
from bot.config import Thresholds
from bot.erasure import default_parity
from bot.models import Frozen
from bot.report import Status
from handlers.capacity.facts import CapacityFacts
from handlers.capacity.forecast import (
    DAY,
    ForecastStatus,
    HistoryPoint,
    PoolShape,
    ThresholdState,
    forecast,
    growth,
    threshold_state,
)

STALE_AFTER = timedelta(hours=6)  # older scanner data is flagged; big clusters scan for hours
TOP_BUCKETS = 10
SUMMARY_TARGET_PCT = 80.0

STATUS = {
    ThresholdState.OK: Status.HEALTHY,
    ThresholdState.PLAN: Status.INFO,
    ThresholdState.ALERT: Status.DEGRADED,
    ThresholdState.CRITICAL: Status.UNHEALTHY,
}


class BucketRow(Frozen):
    """One bucket's size and object count from the scanner."""

    name: str
    size: int
    objects: int


class CapacityNow(Frozen):
    """A tenant's capacity right now: drive totals from `info`, bucket figures from the scanner."""

    tenant: str
    raw_total: int
    raw_used: int
    raw_free: int
    usable_total: int
    usable_used: int
    usable_free: int
    pct_used: float  # of usable capacity
    buckets: list[BucketRow]  # the largest TOP_BUCKETS, largest first
    buckets_count: int
    objects: int
    data_size: int  # bytes of object data the scanner counted
    scanner_last_update: datetime | None  # None: the scanner has never finished a cycle
    stale: bool
    checked_at: datetime
    offline_drives: int = 0
    pool: PoolShape | None = None  # the newest pool's shape, for sizing a new one

    @property
    def point(self) -> HistoryPoint:
        """This measurement as a history point (the forecast's anchor)."""
        return HistoryPoint(
            taken_at=self.checked_at,
            usable_used=self.usable_used,
            usable_total=self.usable_total,
            raw_used=self.raw_used,
            raw_total=self.raw_total,
        )


class CapacitySummary(Frozen):
    """A tenant's capacity in one line (the daily report, alerts): % used, 7-day growth, days until 80 %."""

    tenant: str
    ok: bool
    error: str | None = None
    pct_used: float | None = None
    state: ThresholdState | None = None
    status: Status = Status.UNKNOWN
    growth_7d_bytes: int | None = None
    growth_7d_pct_points: float | None = None
    days_until_80: float | None = None  # 0 when already there; None when not forecast
    forecast: ForecastStatus | None = None
    stale: bool = False
    history_error: str | None = None  # the store (or Prometheus) could not be read: no growth, no forecast


def pool_shape(info: ServerInfo) -> PoolShape | None:
    """The newest pool's servers, drives per server, set size, parity and typical drive size."""
    sizes = info.backend.drives_per_set
    if not sizes:
        return None
    index = len(sizes) - 1
    set_size = sizes[index]
    parity = info.backend.standard_sc_parity
    servers = [s for s in info.servers if index in s.pool_numbers]
    per_server = max((sum(1 for d in s.drives if d.pool_index == index) for s in servers), default=0)
    drive_sizes = Counter(d.total for s in servers for d in s.drives if d.pool_index == index and d.total)
    return PoolShape(
        servers=len(servers),
        drives_per_server=per_server,
        set_size=set_size,
        parity=parity if parity is not None else default_parity(set_size),
        drive_size=drive_sizes.most_common(1)[0][0] if drive_sizes else 0,
    )


def drive_totals(info: ServerInfo) -> tuple[int, int, int, int, int]:
    """(raw total, raw free, usable total, usable free, offline drives) from the drives of `info`.

    Usable capacity counts only data drives: `disk_index < set size - parity`
    (minio-facts.md). Offline drives report no space, so totals shrink while
    drives are out; the report says so. The drives of a server its peers could
    not reach come without their place (pool, set and disk index read 0, Go's
    zero value: ``placement_known`` False): they are never taken for data drives
    of set 0, whatever space they report.
    """
    sizes = info.backend.drives_per_set
    parity = info.backend.standard_sc_parity
    raw_total = raw_free = usable_total = usable_free = offline = 0
    for drive in info.drives:
        raw_total += drive.total
        raw_free += drive.available
        if drive.state and drive.state != "ok":
            offline += 1
        if not drive.placement_known:
            continue  # data or parity cannot be told: never usable capacity
        if drive.pool_index < len(sizes):
            set_size = sizes[drive.pool_index]
            data = set_size - (parity if parity is not None else default_parity(set_size))
            is_data = drive.disk_index < data
        else:
            is_data = True  # no erasure layout reported (single drive): every drive holds data
        if is_data:
            usable_total += drive.total
            usable_free += drive.available
    return raw_total, raw_free, usable_total, usable_free, max(offline, info.backend.offline_disks)


def top_buckets(usage: DataUsage, n: int = TOP_BUCKETS) -> list[BucketRow]:
    """The `n` largest buckets, largest first (ties by name): O(buckets log n), no full sort."""
    largest = heapq.nsmallest(n, usage.buckets.items(), key=lambda item: (-item[1].size, item[0]))
    return [BucketRow(name=name, size=b.size, objects=b.objects) for name, b in largest]


def evaluate_capacity(
    tenant: str, info: ServerInfo, usage: DataUsage, now: datetime, top_n: int = TOP_BUCKETS
) -> CapacityNow:
    """Combine `info` and `datausageinfo` into a CapacityNow (pure)."""
    raw_total, raw_free, usable_total, usable_free, offline = drive_totals(info)
    usable_used = max(0, usable_total - usable_free)
    last = usage.last_update
    stale = last is None or now - last > STALE_AFTER
    return CapacityNow(
        tenant=tenant,
        raw_total=raw_total,
        raw_used=max(0, raw_total - raw_free),
        raw_free=raw_free,
        usable_total=usable_total,
        usable_used=usable_used,
        usable_free=usable_free,
        pct_used=100.0 * usable_used / usable_total if usable_total else 0.0,
        buckets=top_buckets(usage, top_n),
        buckets_count=max(usage.buckets_count, len(usage.buckets)),
        objects=usage.objects,
        data_size=usage.total_size,
        scanner_last_update=last,
        stale=stale,
        checked_at=now,
        offline_drives=offline,
        pool=pool_shape(info),
    )


def measured(facts: CapacityFacts, top_n: int = TOP_BUCKETS) -> CapacityNow | ClientError:
    """The measurement in `facts`, or the ClientError that prevented it."""
    if facts.error is not None:
        return facts.error
    assert isinstance(facts.info, ServerInfo) and isinstance(facts.usage, DataUsage)
    return evaluate_capacity(facts.tenant.name, facts.info, facts.usage, facts.at, top_n)


def forecast_targets(thresholds: Thresholds) -> list[float]:
    """Percentages the report dates: each threshold, 80 % (the daily report's) and 100 %."""
    return sorted({float(thresholds.plan), float(thresholds.alert), float(thresholds.critical), 80.0, 100.0})


def summarize(
    tenant: str, now: CapacityNow, history: Sequence[HistoryPoint], thresholds: Thresholds
) -> CapacitySummary:
    """The daily-report line for a tenant from its measurement and history (pure)."""
    seven = growth(history, now.point, [("7 d", 7 * DAY)])[0]
    fc = forecast(history, now.point, [SUMMARY_TARGET_PCT])
    milestone = fc.milestone(SUMMARY_TARGET_PCT)
    days: float | None = None
    if milestone is not None and milestone.reached:
        days = 0.0
    elif milestone is not None and milestone.eta is not None and fc.status is ForecastStatus.GROWING:
        days = (milestone.eta - fc.anchor_at) / DAY
    state = threshold_state(now.pct_used, thresholds) if now.usable_total else None
    return CapacitySummary(
        tenant=tenant,
        ok=now.usable_total > 0,
        error=None if now.usable_total else "no capacity reported (every drive offline?)",
        pct_used=now.pct_used,
        state=state,
        status=STATUS[state] if state else Status.UNKNOWN,
        growth_7d_bytes=seven.bytes,
        growth_7d_pct_points=seven.pct_points,
        days_until_80=days,
        forecast=fc.status,
        stale=now.stale,
    )


def summary_of(facts: CapacityFacts) -> CapacitySummary:
    """The summary line's figures from gathered facts (history asked for); a failed part is said, not raised."""
    tenant = facts.tenant
    current = measured(facts, top_n=0)
    if isinstance(current, ClientError):
        return CapacitySummary(tenant=tenant.name, ok=False, error=str(current))
    if isinstance(facts.history, list):
        return summarize(tenant.name, current, facts.history, tenant.thresholds)
    summary = summarize(tenant.name, current, [], tenant.thresholds)
    # Without history only "already at 80 %" is still known.
    reached = 0.0 if summary.days_until_80 == 0 else None
    error = facts.history or "history not read"
    return summary.model_copy(update={"history_error": error, "forecast": None, "days_until_80": reached})
