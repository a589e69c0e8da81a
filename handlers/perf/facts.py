"""What a speed-test request reads: the cluster's nodes and healing state (one fan-out), and the store's
other speed-test requests on the same tenant (the one-at-a-time claim)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.clients.minio_models import HealStatus, ServerInfo
from bot.config import TenantConfig
from bot.runtime import Runtime
from handlers.perf.evaluate import OtherRequest

KIND = "speedtest"
ACTIVE = ("approved", "executing")
RECENT_REQUESTS = 200  # the newest requests of the tenant searched for other speed tests


@dataclass(frozen=True)
class ClusterFacts:
    """The answering node's view of every node and drive, and the healing state (or why not)."""

    info: ServerInfo | ClientError
    heal: HealStatus | ClientError


def cluster_facts(runtime: Runtime, tenant: TenantConfig) -> ClusterFacts:
    """``info`` and ``background-heal/status`` in parallel, under the report deadline."""
    client = runtime.minio(tenant)
    calls: dict[str, Callable[[], Any]] = {"info": client.server_info, "heal": client.heal_status}
    got = fan_out(calls, deadline_s=runtime.config.timeouts.report_deadline, max_workers=2)
    return ClusterFacts(info=got["info"], heal=got["heal"])


def speedtest_requests(runtime: Runtime, tenant: str, plan_hash: str) -> tuple[OtherRequest | None, list[OtherRequest]]:
    """(this request, the tenant's other speed-test requests that are approved or executing)."""
    rows = runtime.store.approvals.recent(RECENT_REQUESTS, tenant=tenant)
    mine = next((r for r in rows if r.plan_hash == plan_hash and r.kind == KIND), None)
    others = [
        OtherRequest(id=r.id, status=r.status, created_at=r.created_at, requester=r.requester)
        for r in rows
        if r.kind == KIND and r.status in ACTIVE and (mine is None or r.id != mine.id)
    ]
    me = OtherRequest(id=mine.id, status=mine.status, created_at=mine.created_at,
                      requester=mine.requester) if mine else None
    return me, others
