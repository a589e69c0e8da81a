"""Capacity history: read it (store or Prometheus), and seed synthetic history for the sandbox.

The store holds one row per hourly snapshot (gaps included, `ok=False`); when a
tenant has `prometheus_url` configured, history comes from range queries over
MinIO's own metrics instead (see `capacity_prometheus`). Either way the
forecast receives the same `HistoryPoint` list.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from bot.clients.errors import ClientError
from bot.config import TenantConfig
from bot.runtime import Runtime
from bot.store import BucketSize, CapacitySnapshot, Store
from handlers.capacity_forecast import DAY, FIT_WINDOW, HistoryPoint

HISTORY_WINDOW = FIT_WINDOW + timedelta(days=1)  # 30 d growth needs a point from a little before 30 d ago


def point_from_snapshot(snapshot: CapacitySnapshot) -> HistoryPoint:
    """A stored snapshot (or gap) as a history point."""
    return HistoryPoint(
        taken_at=snapshot.taken_at,
        ok=snapshot.ok,
        usable_used=snapshot.usable_used,
        usable_total=snapshot.usable_total,
        raw_used=snapshot.raw_used,
        raw_total=snapshot.raw_total,
        error=snapshot.error,
    )


def store_history(store: Store, tenant: str, since: datetime, until: datetime | None = None) -> list[HistoryPoint]:
    """Snapshots of `tenant` since `since`, oldest first, gaps included (raises StoreError)."""
    return [point_from_snapshot(s) for s in store.capacity.history(tenant, since, until)]


def history_source(tenant: TenantConfig) -> str:
    """Where this tenant's history comes from, for the report footer."""
    return "Prometheus" if tenant.prometheus_url else "the bot's store"


def prometheus_token(runtime: Runtime, tenant: TenantConfig) -> str | None:
    """The bearer token for the tenant's Prometheus, from the variable `prometheus_token_env` names (None: no auth).

    Raises ClientError when the variable is named but not set, rather than querying without the token.
    """
    name = tenant.prometheus_token_env
    if name is None:
        return None
    token = runtime.environ.get(name, "").strip()
    if not token:
        netloc = urlsplit(tenant.prometheus_url or "").netloc
        raise ClientError("auth", f"Prometheus ({netloc})", f"environment variable {name} is not set")
    return token


def load_history(runtime: Runtime, tenant: TenantConfig, now: datetime) -> list[HistoryPoint]:
    """History for the report: Prometheus range queries when configured, else the store.

    Raises StoreError when the store is unavailable and ClientError when
    Prometheus is; the caller reports either as a failed section.
    """
    since = now - HISTORY_WINDOW
    if tenant.prometheus_url:
        from handlers.capacity_prometheus import PrometheusHistory

        source = PrometheusHistory(
            tenant.prometheus_url,
            runtime.timeouts,
            selector=tenant.prometheus_selector,
            token=prometheus_token(runtime, tenant),
        )
        return source.history(since, now)
    return store_history(runtime.store, tenant.name, since, now + timedelta(seconds=1))


def bucket_sizes_near(store: Store, tenant: str, when: datetime, tolerance: timedelta) -> dict[str, int] | None:
    """Per-bucket sizes of the successful snapshot nearest to `when` (None if none within `tolerance`).

    Snapshots without buckets (taken before the scanner's first cycle) are skipped: an empty
    reference would make every bucket look new.
    """
    window = store.capacity.history(tenant, when - tolerance, when + tolerance)
    candidates = [s for s in window if s.ok and s.buckets_count]
    if not candidates:
        return None
    nearest = min(candidates, key=lambda s: abs(s.taken_at - when))
    return {b.bucket: b.size for b in store.capacity.buckets(nearest.id)}


# ----------------------------------------------------------------------------- sandbox seeding


def seed_history(
    store: Store,
    tenant: str,
    now: datetime,
    days: float = 7,
    *,
    usable_total: int,
    usable_used: int,
    raw_total: int | None = None,
    growth_per_day: float | None = None,
    buckets: Mapping[str, tuple[int, int]] | None = None,
    interval: timedelta = timedelta(hours=1),
    noise: float = 0.001,
    gaps: int = 0,
    seed: int = 7,
) -> int:
    """Write `days` of synthetic hourly snapshots ending one interval before `now`; returns how many.

    Usage grows linearly to `usable_used` at `now` (default 0.5 % of usable
    capacity per day) with a small daily wave and noise, so the forecast has
    something realistic to fit. Per-bucket sizes (`buckets`: name ->
    (size, objects) as of now) are scaled back in proportion. `gaps` failed
    polls (MinIO unreachable) are spread over the period. Deterministic for a
    given `seed`.
    """
    rng = random.Random(seed)
    rate = usable_total * 0.005 if growth_per_day is None else growth_per_day
    raw_total = raw_total if raw_total is not None else usable_total * 2
    steps = int(days * DAY / interval)
    gap_steps = {int(steps * (i + 1) / (gaps + 1)) for i in range(gaps)}
    written = 0
    for step in range(steps, 0, -1):
        taken_at = now - step * interval
        if step in gap_steps:
            store.capacity.add_gap(tenant, taken_at=taken_at, error="MinIO unreachable: connection refused (seeded)")
            written += 1
            continue
        age_days = (now - taken_at) / DAY
        wave = math.sin(2 * math.pi * age_days) * noise * usable_total
        used = int(max(0.0, usable_used - rate * age_days + wave + rng.gauss(0, noise * usable_total / 3)))
        used = min(used, usable_total)
        scale = used / usable_used if usable_used else 0.0
        rows = [
            BucketSize(bucket=name, size=int(size * scale), objects=int(objects * scale))
            for name, (size, objects) in (buckets or {}).items()
        ]
        store.capacity.add_snapshot(
            tenant,
            taken_at=taken_at,
            raw_total=raw_total,
            raw_used=int(used * raw_total / usable_total) if usable_total else 0,
            usable_total=usable_total,
            usable_used=used,
            objects=sum(b.objects for b in rows),
            buckets_count=len(rows),
            scanner_last_update=taken_at - timedelta(minutes=5),
            buckets=rows,
        )
        written += 1
    return written
