"""A status for each tenant's line from its facts (pure)."""

from __future__ import annotations

from bot.clients.errors import ClientError
from bot.report import Status, worst
from handlers.health import LoadBalanced
from handlers.tenants.facts import NodesLive, TenantFacts, TenantResource

_HEALTH_STATUS = {"green": Status.HEALTHY, "yellow": Status.DEGRADED, "red": Status.UNHEALTHY}


def minio_status(minio: NodesLive | LoadBalanced | ClientError) -> Status:
    """All nodes live: HEALTHY; some: DEGRADED; none: UNHEALTHY. Behind a load balancer the cluster's answer
    decides (a lost quorum or no answer: UNHEALTHY; the answering node still starting: DEGRADED, since quorum
    was not evaluated). Not asked at all: UNKNOWN."""
    if isinstance(minio, ClientError):
        return Status.UNKNOWN
    if isinstance(minio, LoadBalanced):
        cluster = minio.cluster
        if isinstance(cluster, ClientError):
            return Status.UNHEALTHY
        return Status.HEALTHY if cluster.ok else Status.DEGRADED if cluster.starting else Status.UNHEALTHY
    if minio.live == minio.total:
        return Status.HEALTHY
    return Status.UNHEALTHY if minio.live == 0 else Status.DEGRADED


def kube_status(kube: TenantResource | ClientError) -> Status:
    """The Tenant's green/yellow/red, and DEGRADED while pods are not ready; UNKNOWN when not known."""
    if isinstance(kube, ClientError):
        return Status.UNKNOWN
    verdict = _HEALTH_STATUS.get(kube.health or "", Status.UNKNOWN)
    if kube.pods and kube.ready < kube.pods:
        return worst([verdict, Status.DEGRADED])
    return verdict


def tenant_status(facts: TenantFacts) -> Status:
    """The worst of the MinIO and the Kubernetes verdicts."""
    statuses = [minio_status(facts.minio)]
    if facts.kube is not None:
        statuses.append(kube_status(facts.kube))
    return worst(statuses)
