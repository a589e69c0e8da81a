"""Synthetic capacity history for the sandbox, so `/minio capacity demo` has a week to forecast from.

The sandbox's MinIO simulator starts with today's demo data only; a real bot
would have taken hourly snapshots for weeks. This measures the simulator once
through the bot's own client and writes a week of hourly snapshots that grow
into today's figures (with two failed polls, so the gap handling shows too).
Tests and benchmarks use `seed_history` for the same reason.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.clients.errors import ClientError
from bot.config import Config
from bot.runtime import Runtime
from bot.store import BucketSize, Store
from handlers.capacity.evaluate import measured
from handlers.capacity.facts import gather, tenant_config
from handlers.capacity.forecast import DAY


def seed_sandbox_history(config: Config, tenant: str, days: float = 7, gaps: int = 2) -> int:
    """Seed `days` of hourly history for `tenant` into the config's store; returns snapshots written.

    Does nothing (returns 0) when the store already holds history for the
    tenant, so a sandbox restarted on the same state folder is not seeded twice.
    """
    runtime = Runtime(config)
    try:
        store = runtime.store
        if store.capacity.latest(tenant, include_gaps=True) is not None:
            return 0
        [facts] = gather(runtime, [tenant_config(runtime, tenant)])
        usage = facts.usage
        now = measured(facts, top_n=0 if isinstance(usage, ClientError) else len(usage.buckets))
        if isinstance(now, ClientError):
            raise now
        return seed_history(
            store,
            tenant,
            now.checked_at,
            days,
            usable_total=now.usable_total,
            usable_used=now.usable_used,
            raw_total=now.raw_total,
            buckets={b.name: (b.size, b.objects) for b in now.buckets},
            gaps=gaps,
        )
    finally:
        runtime.close()  # closes the store too


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
