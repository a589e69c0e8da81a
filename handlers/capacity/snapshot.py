"""The hourly capacity snapshot: measure a tenant and store its totals and every bucket's size.

The scheduler runs it for each tenant (leader only). The stored history is what
growth, the forecast and per-bucket growth read.
"""

from __future__ import annotations

import logging

from bot.clients.minio_models import DataUsage, ServerInfo
from bot.config import TenantConfig
from bot.runtime import Runtime
from bot.store import BucketSize
from handlers.capacity.evaluate import evaluate_capacity
from handlers.capacity.facts import gather, tenant_config

log = logging.getLogger("minio_chatops.capacity")


def take_snapshot(runtime: Runtime, tenant: TenantConfig | str) -> None:
    """Store one capacity snapshot with every bucket's size; when MinIO fails, store a gap with the error.

    Store failures raise StoreError (the scheduler logs them; there is nowhere else to record them).
    """
    config = tenant_config(runtime, tenant)
    [facts] = gather(runtime, [config])
    if facts.error is not None:
        log.warning("capacity snapshot failed", extra={"tenant": config.name, "error": str(facts.error)})
        runtime.store.capacity.add_gap(config.name, taken_at=facts.at, error=str(facts.error))
        return
    info, usage = facts.info, facts.usage
    assert isinstance(info, ServerInfo) and isinstance(usage, DataUsage)
    now = evaluate_capacity(config.name, info, usage, facts.at, top_n=0)
    runtime.store.capacity.add_snapshot(
        config.name,
        taken_at=facts.at,
        raw_total=now.raw_total,
        raw_used=now.raw_used,
        usable_total=now.usable_total,
        usable_used=now.usable_used,
        objects=now.objects,
        buckets_count=now.buckets_count,
        scanner_last_update=now.scanner_last_update,
        buckets=[BucketSize(bucket=name, size=b.size, objects=b.objects) for name, b in usage.buckets.items()],
    )
