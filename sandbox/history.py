"""Synthetic capacity history for the sandbox, so `/minio capacity demo` has a week to forecast from.

The sandbox's MinIO simulator starts with today's demo data only; a real bot
would have taken hourly snapshots for weeks. This measures the simulator once
through the bot's own client and writes a week of hourly snapshots that grow
into today's figures (with two failed polls, so the gap handling shows too).
"""

from __future__ import annotations

from bot.config import Config
from bot.runtime import Runtime
from handlers.capacity import evaluate_capacity, gather
from handlers.capacity_history import seed_history


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
        target = next(t for t in runtime.tenants() if t.name == tenant)
        info, usage = gather(runtime, target)
        now = evaluate_capacity(tenant, info, usage, runtime.clock(), top_n=len(usage.buckets))
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
