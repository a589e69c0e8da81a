"""What the version check and an upgrade's preflight read: one parallel read each, under the report deadline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.changes.tenant import TenantHandle, TenantObject, kube_handle
from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.clients.kube import KubeClient
from bot.clients.kube_models import DeploymentInfo
from bot.clients.minio_models import ClusterHealth, HealStatus, PoolStatus, ServerInfo
from bot.config import ClusterConfig, OperatorRef, TenantConfig
from bot.runtime import Runtime
from bot.store import Approval, SpecSnapshot

RECENT_APPROVALS = 50
LISTED = 10  # snapshots a rollback listing shows


def _read(runtime: Runtime, calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    return fan_out(calls, deadline_s=runtime.config.timeouts.report_deadline)


def operator_location(runtime: Runtime, tenant: TenantConfig) -> OperatorRef:
    """Where the operator of the tenant's cluster runs (the cluster's ``operator`` setting, or the default)."""
    cluster = runtime.config.cluster(tenant.kubernetes.cluster) if tenant.kubernetes else None
    return cluster.operator if cluster else OperatorRef()


@dataclass(frozen=True)
class OperatorHandle:
    """The operator Deployment of one cluster, with the client that reaches it."""

    kube: KubeClient
    ref: OperatorRef
    cluster: str

    def read(self) -> DeploymentInfo:
        """The operator Deployment now (KubeError on failure)."""
        return self.kube.get_deployment(self.ref.namespace, self.ref.deployment)


def operator_handle(runtime: Runtime, cluster: ClusterConfig) -> OperatorHandle:
    """The operator Deployment of ``cluster``, with the cluster's Kubernetes client."""
    return OperatorHandle(runtime.kube(cluster.name), cluster.operator, cluster.name)


def cluster_tenants(runtime: Runtime, cluster: str) -> list[TenantConfig]:
    """The configured tenants on ``cluster`` (its operator manages them, and any others there)."""
    return [t for t in runtime.config.tenants if t.kubernetes is not None and t.kubernetes.cluster == cluster]


def operator_target(runtime: Runtime, cluster: str) -> str | None:
    """The operator version the cluster's tenants configure as their target, when they agree on one."""
    wanted = {t.target_versions.operator for t in cluster_tenants(runtime, cluster) if t.target_versions.operator}
    return wanted.pop() if len(wanted) == 1 else None


@dataclass(frozen=True)
class CheckFacts:
    """What `update <tenant> check` shows: MinIO's info, and (for Kubernetes tenants) the Tenant and the operator."""

    info: ServerInfo | ClientError
    tenant: TenantObject | ClientError | None  # None: no Kubernetes Tenant configured
    operator: DeploymentInfo | ClientError | None
    operator_ref: OperatorRef


def check_facts(runtime: Runtime, tenant: TenantConfig) -> CheckFacts:
    """MinIO's info, the Tenant and the operator Deployment, in parallel."""
    ref = operator_location(runtime, tenant)
    calls: dict[str, Callable[[], Any]] = {"info": runtime.minio(tenant).server_info}
    handle = kube_handle(runtime, tenant)
    if handle is not None:
        calls["tenant"] = handle.read
        calls["operator"] = lambda: handle.kube.get_deployment(ref.namespace, ref.deployment)
    got = _read(runtime, calls)
    return CheckFacts(info=got["info"], tenant=got.get("tenant"), operator=got.get("operator"), operator_ref=ref)


@dataclass(frozen=True)
class UpgradeFacts:
    """Everything the upgrade (and rollback) preflight reads."""

    tenant: TenantObject | ClientError
    info: ServerInfo | ClientError
    health: ClusterHealth | ClientError
    heal: HealStatus | ClientError
    pools: list[PoolStatus] | ClientError
    approvals: list[Approval] | ClientError


def upgrade_facts(runtime: Runtime, handle: TenantHandle) -> UpgradeFacts:
    """The Tenant, MinIO's info, quorum, healing and pools, and this tenant's recent approvals, in parallel."""
    client = runtime.minio(handle.config)
    got = _read(runtime, {
        "tenant": handle.read,
        "info": client.server_info,
        "health": client.cluster_health,
        "heal": client.heal_status,
        "pools": client.pools_list,
        "approvals": lambda: runtime.store.approvals.recent(RECENT_APPROVALS, tenant=handle.config.name),
    })
    return UpgradeFacts(**got)


def node_versions_now(runtime: Runtime, tenant: TenantConfig) -> dict[str, str]:
    """endpoint -> version each MinIO node reports now ({} when MinIO does not answer)."""
    try:
        return {s.endpoint: s.release_tag or s.version for s in runtime.minio(tenant).server_info().servers}
    except ClientError:
        return {}


def stored_snapshots(runtime: Runtime, key: str) -> list[SpecSnapshot]:
    """The newest snapshots stored under ``key`` (a tenant's name, or an operator's ``operator:<cluster>``)."""
    return runtime.store.specs.list(key, limit=LISTED)
