"""What `/minio tenants` asks, for every tenant at once: is MinIO live, and what does the Tenant resource say.

One fan-out for all tenants under the report deadline. MinIO liveness is per
node (``/minio/health/live`` on each, in parallel); behind a load balancer
(``client.per_node`` false) no answer can be tied to a node, so the cluster's
own health endpoint says whether MinIO answers at all, asked as ``health`` asks it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.config import TenantConfig
from bot.runtime import Runtime
from handlers.health import LoadBalanced, load_balanced_liveness


@dataclass(frozen=True)
class NodesLive:
    """Per-node liveness: how many nodes, and why each down node is down."""

    total: int
    down: dict[int, str] = field(default_factory=dict)

    @property
    def live(self) -> int:
        """Nodes that answered ``/minio/health/live`` with 200."""
        return self.total - len(self.down)


@dataclass(frozen=True)
class TenantResource:
    """The Tenant's ``healthStatus`` and its pods' readiness."""

    health: str | None
    ready: int
    pods: int


@dataclass(frozen=True)
class TenantFacts:
    """What was learnt about one tenant (each part its value or the error that explains its absence)."""

    tenant: TenantConfig
    minio: NodesLive | LoadBalanced | ClientError
    kube: TenantResource | ClientError | None  # None: no Kubernetes Tenant configured


def gather(runtime: Runtime, tenants: list[TenantConfig]) -> list[TenantFacts]:
    """Every tenant's facts in one fan-out under the report deadline, in the order given."""
    calls: dict[str, Callable[[], Any]] = {}
    for tenant in tenants:
        calls[f"minio:{tenant.name}"] = partial(_liveness, runtime, tenant)
        if tenant.kubernetes:
            calls[f"kube:{tenant.name}"] = partial(_kubernetes, runtime, tenant)
    results = fan_out(calls, deadline_s=runtime.config.timeouts.report_deadline, max_workers=max(1, len(calls)))
    return [
        TenantFacts(tenant=t, minio=results[f"minio:{t.name}"], kube=results.get(f"kube:{t.name}"))
        for t in tenants
    ]


def _liveness(runtime: Runtime, tenant: TenantConfig) -> NodesLive | LoadBalanced:
    """``/minio/health/live`` on every node; behind a load balancer, ``/minio/health/cluster`` once instead."""
    client = runtime.minio(tenant)
    if not client.per_node:
        return load_balanced_liveness(client)
    probes = fan_out(
        {str(n): partial(client.liveness, n) for n in client.nodes},
        deadline_s=runtime.config.timeouts.probe + 0.5,
    )
    down: dict[int, str] = {}
    for key, probe in probes.items():
        if isinstance(probe, ClientError):
            down[int(key)] = probe.detail
        elif not probe.ok:
            down[int(key)] = probe.error or f"HTTP {probe.status}"
    return NodesLive(total=len(probes), down=dict(sorted(down.items())))


def _kubernetes(runtime: Runtime, tenant: TenantConfig) -> TenantResource:
    """The Tenant's health status and its pods' readiness, from the Kubernetes API."""
    kube = runtime.kube_for(tenant)
    assert kube is not None and tenant.kubernetes is not None  # only asked for tenants with a Tenant reference
    info = kube.get_tenant(tenant.kubernetes.namespace, tenant.tenant_name)
    pods = kube.list_pods(tenant.kubernetes.namespace, tenant.tenant_name)
    health = info.status.health_status if info.status else None
    return TenantResource(health=health, ready=sum(1 for p in pods if p.ready), pods=len(pods))
